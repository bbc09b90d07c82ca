/** The Lua scripts of outbound-policy: used by outbound-policy/ (policy-store.ts). */

export const OUTBOUND_POLICY_WRITE_POLICY = `
if ARGV[2] == 'only-if-absent' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i])
end
return 1`;
