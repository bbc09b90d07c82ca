/** The Lua scripts of subjects: used by signaling/ (subject-store.ts). */

/**
 * Adds one subject, or nothing if its name is taken (by an active or a retired subject, so that a
 * restore can never collide). Its score is one past the highest, so the list keeps creation order.
 *   KEYS: subject-names, subjects, subject:<id>, stream:board-events
 *   ARGV: lower-cased name, id, name, createdAt, the stream's MAXLEN
 */
export const SUBJECT_CREATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'name-taken' end
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local score = 1
if last[2] then score = tonumber(last[2]) + 1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'name', ARGV[3], 'nameKey', ARGV[1], 'retired', '0', 'createdAt', ARGV[4])
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'subjectId', ARGV[2])
return 'created'`;

/**
 * The defaults, in their order, only while there are no subjects at all: one script, so two
 * signaling instances starting together cannot both add them.
 *   KEYS: subjects, subject-names, then subject:<id> of each default
 *   ARGV: createdAt, then id, name and lower-cased name of each default
 */
export const SUBJECT_ENSURE_DEFAULTS = `
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local n = #KEYS - 2
for i = 1, n do
  local id, name, lower = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  redis.call('HSET', KEYS[2], lower, id)
  redis.call('HSET', KEYS[2 + i], 'id', id, 'name', name, 'nameKey', lower, 'retired', '0', 'createdAt', ARGV[1])
  redis.call('ZADD', KEYS[1], i, id)
end
return n`;

/**
 * A new name for the same id, unless another subject has it; a change of case only is allowed.
 * The hash keeps its index entry (`nameKey`, lower-cased in JavaScript, which knows more than ASCII)
 * so that the old entry can be freed here.
 *   KEYS: subject-names, subject:<id>, stream:board-events   ARGV: new lower-cased name, id, new name, MAXLEN
 */
export const SUBJECT_RENAME = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 'unknown' end
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder and holder ~= ARGV[2] then return 'name-taken' end
local old = redis.call('HGET', KEYS[2], 'nameKey')
if old and old ~= ARGV[1] and redis.call('HGET', KEYS[1], old) == ARGV[2] then redis.call('HDEL', KEYS[1], old) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'nameKey', ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'subjectId', ARGV[2])
return 'renamed'`;

/** KEYS: subject:<id>, stream:board-events   ARGV: '1' to retire, '0' to restore; id; MAXLEN */
export const SUBJECT_SET_RETIRED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
redis.call('HSET', KEYS[1], 'retired', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'subjectId', ARGV[2])
return 'set'`;
