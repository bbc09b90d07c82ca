import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DEFAULT_SUBJECTS, SUBJECT_NAME_MAX_LENGTH, SUBJECT_NAME_MIN_LENGTH, type Subject } from '@deskline/protocol';
import {
  RedisKeys,
  RedisStreams,
  TEAM_EVENTS_MAX_LENGTH,
  SUBJECT_CREATE,
  SUBJECT_ENSURE_DEFAULTS,
  SUBJECT_RENAME,
  SUBJECT_SET_RETIRED,
} from '@deskline/store';
import { ClientError } from '../errors.js';

const SUBJECTS = RedisKeys.subjects;
const NAMES = RedisKeys.subjectNames;
const key = RedisKeys.subject;
/** The tail of each script that changes a subject: announced to the panels (stream:board-events). */
const BOARD = RedisStreams.boardEvents;
const MAX_LENGTH = String(TEAM_EVENTS_MAX_LENGTH);

function fromHash(f: Record<string, string>): Subject | undefined {
  if (!f['id'] || !f['name']) return undefined;
  return { id: f['id'], name: f['name'], retired: f['retired'] === '1', createdAt: Number(f['createdAt'] ?? 0) };
}

/** A subject's name with its spaces tidied, or a 400 saying what is wrong with it. */
function checkName(input: string): string {
  const name = input.trim().replace(/\s+/g, ' ');
  if (name.length < SUBJECT_NAME_MIN_LENGTH || name.length > SUBJECT_NAME_MAX_LENGTH) {
    throw new ClientError(
      400,
      `A subject's name must be ${SUBJECT_NAME_MIN_LENGTH} to ${SUBJECT_NAME_MAX_LENGTH} characters long.`,
    );
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
      SUBJECT_ENSURE_DEFAULTS,
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
      SUBJECT_CREATE,
      4,
      NAMES,
      SUBJECTS,
      key(subject.id),
      BOARD,
      name.toLowerCase(),
      subject.id,
      name,
      String(subject.createdAt),
      MAX_LENGTH,
    )) as string;
    if (result === 'name-taken') throw await this.nameTaken(name);
    return subject;
  }

  /** Renames in place: the id stays, so the tasks that have this subject show the new name. */
  async rename(id: string, newName: string): Promise<Subject> {
    const name = checkName(newName);
    const result = (await this.redis.eval(
      SUBJECT_RENAME,
      3,
      NAMES,
      key(id),
      BOARD,
      name.toLowerCase(),
      id,
      name,
      MAX_LENGTH,
    )) as string;
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
    const result = (await this.redis.eval(
      SUBJECT_SET_RETIRED,
      2,
      key(id),
      BOARD,
      retired ? '1' : '0',
      id,
      MAX_LENGTH,
    )) as string;
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
