/** The Lua scripts of subjects: run by SubjectRecords (../subject-records.ts). */

/**
 * Adds one subject, or nothing if its name is taken (by an active or a retired subject, so that a
 * restore can never collide). Its score (its position) is one past the highest, so it comes last in
 * its category.
 *   KEYS: subject-names, subjects, subject:<id>, stream:board-events
 *   ARGV: lower-cased name, id, name, createdAt, the stream's MAXLEN, category
 */
export const SUBJECT_CREATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'name-taken' end
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local score = 1
if last[2] then score = tonumber(last[2]) + 1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'name', ARGV[3], 'nameKey', ARGV[1], 'retired', '0', 'createdAt', ARGV[4], 'category', ARGV[6])
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'subjectId', ARGV[2])
return 'created'`;

/**
 * The defaults, in their order, only while there are no subjects at all: one script, so two
 * signaling instances starting together cannot both add them.
 *   KEYS: subjects, subject-names, then subject:<id> of each default
 *   ARGV: createdAt, then id, name, lower-cased name and category of each default
 */
export const SUBJECT_ENSURE_DEFAULTS = `
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local n = #KEYS - 2
for i = 1, n do
  local id, name, lower, category = ARGV[4 * i - 2], ARGV[4 * i - 1], ARGV[4 * i], ARGV[4 * i + 1]
  redis.call('HSET', KEYS[2], lower, id)
  redis.call('HSET', KEYS[2 + i], 'id', id, 'name', name, 'nameKey', lower, 'retired', '0', 'createdAt', ARGV[1], 'category', category)
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

/**
 * Issue 16's migration: gives each subject stored before categories existed the category chosen for
 * it, unless it has one already (HSETNX: run at every start, by any number of instances at once, it
 * changes nothing the second time). Its id, name and place are kept, so its tasks and the statistics
 * of past days still find it.
 *   KEYS: subject:<id> of each subject to migrate, then stream:board-events
 *   ARGV: the stream's MAXLEN, then the category of each subject, in KEYS' order
 * Returns how many subjects it gave a category.
 */
export const SUBJECT_MIGRATE_CATEGORIES = `
local n = #KEYS - 1
local changed = 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HSETNX', KEYS[i], 'category', ARGV[i + 1]) == 1 then
    changed = changed + 1
    redis.call('XADD', KEYS[n + 1], 'MAXLEN', '~', ARGV[1], '*', 'subjectId', redis.call('HGET', KEYS[i], 'id'))
  end
end
return changed`;

/**
 * A category's subjects in use, in a new order: the positions they hold between them are dealt out
 * again in the order given, so the other categories and the retired subjects keep theirs. Refused
 * ('not-the-category') unless the ids are exactly the category's subjects in use, each once.
 *   KEYS: subjects, stream:board-events, then subject:<id> of every subject in the subjects set
 *   ARGV: category, the stream's MAXLEN, the number of subjects in the subjects set when KEYS was made, then the ids in their new order
 * Returns 'changed' when the subjects were changed meanwhile (KEYS is out of date: read and try again).
 */
export const SUBJECT_REORDER = `
if redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[3]) then return 'changed' end
local members = {}
for i = 3, #KEYS do
  local fields = redis.call('HMGET', KEYS[i], 'id', 'category', 'retired')
  if not fields[1] then return 'changed' end
  if fields[2] == ARGV[1] and fields[3] ~= '1' then
    members[fields[1]] = tonumber(redis.call('ZSCORE', KEYS[1], fields[1]))
    if not members[fields[1]] then return 'changed' end
  end
end
local scores = {}
local seen = {}
for i = 4, #ARGV do
  local score = members[ARGV[i]]
  if not score or seen[ARGV[i]] then return 'not-the-category' end
  seen[ARGV[i]] = true
  scores[#scores + 1] = score
end
local count = 0
for _ in pairs(members) do count = count + 1 end
if count ~= #scores then return 'not-the-category' end
table.sort(scores)
for i = 4, #ARGV do
  local id = ARGV[i]
  if members[id] ~= scores[i - 3] then
    redis.call('ZADD', KEYS[1], scores[i - 3], id)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'subjectId', id)
  end
end
return 'reordered'`;

/**
 * Moves a subject to another category, last in it (one past the highest position of all).
 *   KEYS: subjects, subject:<id>, stream:board-events   ARGV: id, category, MAXLEN
 */
export const SUBJECT_SET_CATEGORY = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 'unknown' end
if redis.call('HGET', KEYS[2], 'category') == ARGV[2] then return 'same' end
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local score = 1
if last[2] then score = tonumber(last[2]) + 1 end
redis.call('HSET', KEYS[2], 'category', ARGV[2])
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'subjectId', ARGV[1])
return 'moved'`;
