import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DEFAULT_SUBJECTS, SUBJECT_NAME_MAX_LENGTH, SUBJECT_NAME_MIN_LENGTH, type Subject } from '@deskline/protocol';
import { RedisKeys, RedisStreams, TEAM_EVENTS_MAX_LENGTH } from '@deskline/store';
import { ClientError } from '../errors.js';

const SUBJECTS = RedisKeys.subjects;
const NAMES = RedisKeys.subjectNames;
const key = RedisKeys.subject;
/** The tail of each script that changes a subject: announced to the panels (stream:board-events). */
const BOARD = RedisStreams.boardEvents;
const MAX_LENGTH = String(TEAM_EVENTS_MAX_LENGTH);

/**
 * Adds one subject, or nothing if its name is taken (by an active or a retired subject, so that a
 * restore can never collide). Its score is one past the highest, so the list keeps creation order.
 *   KEYS: subject-names, subjects, subject:<id>, stream:board-events
 *   ARGV: lower-cased name, id, name, createdAt, the stream's MAXLEN
 */
const CREATE = `
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
const ENSURE_DEFAULTS = `
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
const RENAME = `
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
const SET_RETIRED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
redis.call('HSET', KEYS[1], 'retired', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'subjectId', ARGV[2])
return 'set'`;

function fromHash(f: Record<string, string>): Subject | undefined {
  if (!f['id'] || !f['name']) return undefined;
  return { id: f['id'], name: f['name'], retired: f['retired'] === '1', createdAt: Number(f['createdAt'] ?? 0) };
}

/** A subject's name with its spaces tidied, or a 400 saying what is wrong with it. */
function checkName(input: string): string {
  const name = input.trim().replace(/\s+/g, ' ');
  if (name.length < SUBJECT_NAME_MIN_LENGTH || name.length > SUBJECT_NAME_MAX_LENGTH) {
    throw new ClientError(400, `A subject's name must be ${SUBJECT_NAME_MIN_LENGTH} to ${SUBJECT_NAME_MAX_LENGTH} characters long.`);
  }
  if (/\p{Cc}/u.test(name)) throw new ClientError(400, "A subject's name must not contain control characters.");
  return name;
}

/**
 * What calls are about (issue 5): managers add, rename, retire and restore subjects; employees
 * choose among the active ones. Names are unique ignoring case, retired subjects included. Every
 * change is announced on stream:board-events (field subjectId), in the same script, so that every
 * panel is pushed it, whether the API or the command-line tool made it.
 */
export class SubjectStore {
  constructor(private readonly redis: Redis) {}

  /** Creates the default subjects if there are none at all; returns how many it created. */
  async ensureDefaults(): Promise<number> {
    const defaults = DEFAULT_SUBJECTS.map((name) => ({ id: randomUUID(), name }));
    return (await this.redis.eval(
      ENSURE_DEFAULTS,
      2 + defaults.length,
      SUBJECTS,
      NAMES,
      ...defaults.map((d) => key(d.id)),
      String(Date.now()),
      ...defaults.flatMap((d) => [d.id, d.name, d.name.toLowerCase()]),
    )) as number;
  }

  async create(input: { name: string }): Promise<Subject> {
    const name = checkName(input.name);
    const subject: Subject = { id: randomUUID(), name, retired: false, createdAt: Date.now() };
    const result = (await this.redis.eval(
      CREATE, 4, NAMES, SUBJECTS, key(subject.id), BOARD,
      name.toLowerCase(), subject.id, name, String(subject.createdAt), MAX_LENGTH,
    )) as string;
    if (result === 'name-taken') throw await this.nameTaken(name);
    return subject;
  }

  /** Renames in place: the id stays, so the tasks that have this subject show the new name. */
  async rename(id: string, newName: string): Promise<Subject> {
    const name = checkName(newName);
    const result = (await this.redis.eval(RENAME, 3, NAMES, key(id), BOARD, name.toLowerCase(), id, name, MAX_LENGTH)) as string;
    if (result === 'unknown') throw new ClientError(404, 'No such subject.');
    if (result === 'name-taken') throw await this.nameTaken(name);
    return this.require(id);
  }

  /** Not offered for new choices any more; kept for the tasks that have it. */
  async retire(id: string): Promise<Subject> {
    return this.setRetired(id, true);
  }

  async restore(id: string): Promise<Subject> {
    return this.setRetired(id, false);
  }

  async get(id: string): Promise<Subject | undefined> {
    return fromHash(await this.redis.hgetall(key(id)));
  }

  async findByName(name: string): Promise<Subject | undefined> {
    const id = await this.redis.hget(NAMES, name.trim().replace(/\s+/g, ' ').toLowerCase());
    return id ? this.get(id) : undefined;
  }

  /** Active subjects in creation order; with `all`, the retired ones follow, also in creation order. */
  async list(options: { all?: boolean } = {}): Promise<Subject[]> {
    const ids = await this.redis.zrange(SUBJECTS, 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(key(id));
    const subjects = ((await pipeline.exec()) ?? []).flatMap(([err, fields]) => {
      if (err) throw err;
      return fromHash(fields as Record<string, string>) ?? [];
    });
    const active = subjects.filter((s) => !s.retired);
    return options.all ? [...active, ...subjects.filter((s) => s.retired)] : active;
  }

  private async setRetired(id: string, retired: boolean): Promise<Subject> {
    const result = (await this.redis.eval(SET_RETIRED, 2, key(id), BOARD, retired ? '1' : '0', id, MAX_LENGTH)) as string;
    if (result === 'unknown') throw new ClientError(404, 'No such subject.');
    return this.require(id);
  }

  private async require(id: string): Promise<Subject> {
    const subject = await this.get(id);
    if (!subject) throw new ClientError(404, 'No such subject.');
    return subject;
  }

  private async nameTaken(name: string): Promise<ClientError> {
    const holder = await this.findByName(name);
    return new ClientError(
      409,
      holder?.retired
        ? `A retired subject named "${holder.name}" exists; restore it instead.`
        : `A subject named "${holder?.name ?? name}" already exists.`,
    );
  }
}
