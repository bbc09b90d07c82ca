/** The Lua scripts of workstations: used by signaling/ (workstation-store.ts). */

/**
 * Creates the workstation in one step, or nothing: the name must be free (case-insensitive), and a
 * desk phone's SIP user must have no credentials yet.
 *   KEYS: workstation-names, sip-credentials, workstation:<id>, workstations
 *   ARGV: lower-cased name, id, name, kind, sipUser ('' for a browser), HA1
 */
export const WORKSTATION_CREATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'name-taken' end
if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then return 'sip-user-taken' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'name', ARGV[3], 'kind', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
  redis.call('HSET', KEYS[3], 'sipUser', ARGV[5])
end
redis.call('SADD', KEYS[4], ARGV[2])
return 'created'`;

/**
 * Gives a desk phone new credentials (and its SIP user, if it was stored without one), unless another
 * workstation's credentials use that SIP user.
 *   KEYS: workstation:<id>, sip-credentials   ARGV: sipUser, HA1, whether the SIP user is new ('1' or '0')
 */
export const WORKSTATION_SET_CREDENTIALS = `
if redis.call('HGET', KEYS[1], 'kind') ~= 'sip-phone' then return 'not-a-phone' end
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'sip-user-taken' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'sipUser', ARGV[1])
return 'set'`;

/**
 * Renames a workstation, keeping its id (so its history, its holder and its SIP user stay): the new
 * name must be free, ignoring case, unless it is this workstation's own.
 * Names are lower-cased by the caller (JavaScript's rules, not Lua's ASCII-only ones), so it passes the
 * old name it read, and a rename that crossed another is refused ('changed').
 *   KEYS: workstation:<id>, workstation-names
 *   ARGV: id, new name, new name lower-cased, old name, old name lower-cased
 */
export const WORKSTATION_RENAME = `
local old = redis.call('HGET', KEYS[1], 'name')
if not old then return 'missing' end
if old ~= ARGV[4] then return 'changed' end
local owner = redis.call('HGET', KEYS[2], ARGV[3])
if owner and owner ~= ARGV[1] then return 'name-taken' end
if redis.call('HGET', KEYS[2], ARGV[5]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[5]) end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'name', ARGV[2])
return 'renamed'`;

/**
 * Removes a workstation nobody holds, with its SIP credentials: a desk phone's HA1 goes, so Kamailio
 * refuses its next REGISTER, and its SIP user is pushed onto sip-revocations, so Kamailio drops the
 * registration it has now. Refused while someone holds the workstation (signaling takes them off
 * first, and a pick in between must not leave an agent on a workstation that is gone).
 *   KEYS: workstation:<id>, workstation-names, workstations, sip-credentials, workstation-holder:<id>,
 *         sip-revocations, sip-registration-seen:<sipUser>, sip-auth:<sipUser>
 *   ARGV: id, the SIP user (the desk phone's, or ws-<id>; '' for a desk phone without one), the name
 *         lower-cased
 *   returns: 'removed', 'missing' or 'held'
 */
export const WORKSTATION_REMOVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('EXISTS', KEYS[5]) == 1 then return 'held' end
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[3]) end
redis.call('DEL', KEYS[1], KEYS[7], KEYS[8])
redis.call('SREM', KEYS[3], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('HDEL', KEYS[4], ARGV[2])
  redis.call('RPUSH', KEYS[6], ARGV[2])
end
return 'removed'`;
