/** The Lua scripts of sip-auth: used by signaling/ (sip-credentials.ts). */

/** Kamailio pops the list every 100 ms; this many pending revocations are kept if it is down. */
const SIP_REVOCATIONS_KEPT = 10_000;

/**
 * Records an issued username as valid for its workstation's SIP user, unless the workstation's holder
 * is no longer `userId` (a credentials request that crossed the user's leaving). The expiry is moved
 * past the newest revoked one, so that credentials issued in the same second as revoked ones (same
 * username, hence same password) can never bring the revoked ones back.
 *   KEYS: workstation-holder:<ws>, sip-auth:<sipUser>, sip-auth-revoked:<sipUser>
 *   ARGV: userId, expiry (epoch s), now (epoch s), sipUser
 *   returns: the expiry (epoch s) of the recorded username, or false
 */
export const SIP_AUTH_ISSUE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local expiry = tonumber(ARGV[2])
local revoked = tonumber(redis.call('GET', KEYS[3]) or '0')
if expiry <= revoked then expiry = revoked + 1 end
redis.call('SADD', KEYS[2], expiry .. ':' .. ARGV[4])
local ttl = expiry - tonumber(ARGV[3])
local current = redis.call('TTL', KEYS[2])
if current < ttl then redis.call('EXPIRE', KEYS[2], ttl) end
return expiry`;

/**
 * Revokes every username issued for a SIP user and asks Kamailio to drop the registrations made with
 * them (it pops sip-revocations every 100 ms and keeps only contacts whose username is still valid).
 *   KEYS: sip-auth:<sipUser>, sip-auth-revoked:<sipUser>, sip-auth:revoked
 *   ARGV: sipUser, now (epoch s)
 */
export const SIP_AUTH_REVOKE = `
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
for _, username in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local expiry = tonumber(string.match(username, '^(%d+):'))
  if expiry and expiry > newest then newest = expiry end
end
redis.call('DEL', KEYS[1])
if newest > tonumber(ARGV[2]) then redis.call('SET', KEYS[2], newest, 'EXAT', newest) end
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], -${SIP_REVOCATIONS_KEPT}, -1)
return 1`;
