/** The Lua scripts of login-attempts: used by signaling/ (login-limiter.ts). */

/**
 * Reserves an attempt, atomically: prunes what fell out of the window, checks every limit, and only
 * if none refuses, records the attempt in all three sets at once. So concurrent requests cannot
 * read a count, all pass, and write it later: each reservation sees the ones before it, including
 * those whose password is still being verified. Time is Redis's, the same for every instance.
 *
 * KEYS: pair, address, account, account slow-lane slot.
 * ARGV: id, windowMs, freeAttempts, baseDelayMs, maxDelayMs, maxFailuresPerIp, maxFailuresPerAccount, accountSlowMs.
 * Returns {1, '', 0} when reserved, or {0, scope, retryAfterMs}.
 */
export const LOGIN_RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local window = tonumber(ARGV[2])
local free = tonumber(ARGV[3])
local base = tonumber(ARGV[4])
local maxDelay = tonumber(ARGV[5])
local maxIp = tonumber(ARGV[6])
local maxAccount = tonumber(ARGV[7])
local slow = tonumber(ARGV[8])
for i = 1, 3 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window) end

local wait, scope = 0, ''
local function refuse(ms, s)
  if ms > wait then wait, scope = ms, s end
end

local ipCount = redis.call('ZCARD', KEYS[2])
if ipCount >= maxIp then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  refuse(tonumber(oldest[2]) + window - now, 'address')
end

local pairCount = redis.call('ZCARD', KEYS[1])
if pairCount >= free then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local delay = math.min(base * 2 ^ (pairCount - free), maxDelay)
  refuse(tonumber(last[2]) + delay - now, 'pair')
end

-- An address with no attempt for this account is never in the slow lane: however many addresses
-- fail, the real user's first try from a clean address is verified.
local slowLane = pairCount > 0 and redis.call('ZCARD', KEYS[3]) >= maxAccount
if slowLane then
  refuse(redis.call('PTTL', KEYS[4]), 'account')
end

if wait > 0 then return {0, scope, math.ceil(wait)} end
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now, id)
  redis.call('PEXPIRE', KEYS[i], window)
end
if slowLane then redis.call('SET', KEYS[4], '1', 'PX', slow) end
return {1, '', 0}
`;
