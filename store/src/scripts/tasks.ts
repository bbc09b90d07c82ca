/** The Lua scripts of tasks: used by signaling/ (task-store.ts). */

/**
 * Compare-and-set of a task and everything that moves with it, in one script. A read in JavaScript,
 * a change computed there, and this write that applies only if every guarded key still holds what
 * was read: optimistic locking. WATCH would do the same, but a WATCH belongs to a connection, and the
 * app's connection is shared by every request in flight.
 *   KEYS: every key named by the guards and the operations
 *   ARGV[1]: JSON [[keyIndex, expected string, or false for "absent"], …]
 *   ARGV[2]: JSON [[command, keyIndex, arg, …], …]; the command DELIFEQ deletes the key if it holds arg
 */
export const TASK_COMPARE_AND_SET = `
for _, guard in ipairs(cjson.decode(ARGV[1])) do
  local value = redis.call('GET', KEYS[guard[1]])
  if guard[2] == false then
    if value then return 0 end
  elseif value ~= guard[2] then
    return 0
  end
end
for _, op in ipairs(cjson.decode(ARGV[2])) do
  if op[1] == 'DELIFEQ' then
    if redis.call('GET', KEYS[op[2]]) == op[3] then redis.call('DEL', KEYS[op[2]]) end
  else
    local args = { op[1], KEYS[op[2]] }
    for i = 3, #op do args[#args + 1] = op[i] end
    redis.call(unpack(args))
  end
end
return 1`;

export const TASK_START_CALLBACK = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[4]) then return redis.call('GET', KEYS[1]) or '' end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[1])
  return 'CAP'
end
redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return 'OK'`;
