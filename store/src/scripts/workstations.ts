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
