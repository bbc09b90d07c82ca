/** The Lua scripts of callbacks: used by sip/ (callback-store.ts). */

export const CALLBACK_EXTEND_LOCK = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0`;

export const CALLBACK_RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export const CALLBACK_END_ORPHAN = `
local json = redis.call('GET', KEYS[1])
if not json then return 0 end
local ok, view = pcall(cjson.decode, json)
if not ok or type(view) ~= 'table' or view.state == 'ended' then return 0 end
if redis.call('GET', KEYS[2]) == ARGV[1] then return 0 end
view.state = 'ended'
view.outcome = 'failed'
view.endedAt = tonumber(ARGV[2])
local text = cjson.encode(view)
redis.call('SET', KEYS[1], text, 'KEEPTTL')
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'event', '{"callback":' .. text .. '}')
return 1`;
