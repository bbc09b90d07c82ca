import type { Redis } from 'ioredis';
import { DEFAULT_SUBJECTS, isSubjectCategory, type Subject, type SubjectCategory } from '@deskline/protocol';
import { RedisKeys, RedisStreams, TEAM_EVENTS_MAX_LENGTH } from './keys.js';
import {
  SUBJECT_CREATE,
  SUBJECT_ENSURE_DEFAULTS,
  SUBJECT_MIGRATE_CATEGORIES,
  SUBJECT_RENAME,
  SUBJECT_REORDER,
  SUBJECT_SET_CATEGORY,
  SUBJECT_SET_RETIRED,
} from './scripts/subjects.js';

const SUBJECTS = RedisKeys.subjects;
const NAMES = RedisKeys.subjectNames;
const key = RedisKeys.subject;
/** The tail of each script that changes a subject: announced to the panels (stream:board-events). */
const BOARD = RedisStreams.boardEvents;
const MAX_LENGTH = String(TEAM_EVENTS_MAX_LENGTH);
/** How often a reorder is tried again when another writer changed the subjects between its read and its script. */
const REORDER_TRIES = 5;

/**
 * The category a subject stored before categories existed goes under: the one its name matches (the
 * three defaults were named after them), else Information. A manager may move it afterwards.
 */
export function categoryForOldSubject(name: string): SubjectCategory {
  const lower = name.trim().toLowerCase();
  return DEFAULT_SUBJECTS.find((d) => d.name.toLowerCase() === lower)?.category ?? 'information';
}

/** A subject's hash and its score in `subjects`; undefined for a hash that is not a subject. */
function decode(fields: Record<string, string>, score: string | null): Subject | undefined {
  if (!fields['id'] || !fields['name']) return undefined;
  const stored = fields['category'] ?? '';
  return {
    id: fields['id'],
    name: fields['name'],
    retired: fields['retired'] === '1',
    // Only between an upgrade's start and its migration (migrateCategories) is a subject without one.
    category: isSubjectCategory(stored) ? stored : categoryForOldSubject(fields['name']),
    position: Number(score ?? 0),
    createdAt: Number(fields['createdAt'] ?? 0),
  };
}

/** What a change of a subject came to. */
export type SubjectWrite = 'done' | 'unknown' | 'name-taken';

/**
 * Subjects in Redis (the keys `subjects`, `subject-names` and `subject:<id>`, docs/call-board.md):
 * every read and write of them, each write in one script that also announces the subject on
 * stream:board-events (field subjectId), so that every panel is pushed it, whichever process made it.
 * Names are unique ignoring case across every category, retired subjects included. Checking what a
 * manager typed is the caller's part (signaling's SubjectStore).
 */
export class SubjectRecords {
  constructor(private readonly redis: Redis) {}

  /** Creates the default subjects if there are none at all; returns how many it created. */
  async ensureDefaults(newId: () => string): Promise<number> {
    const defaults = DEFAULT_SUBJECTS.map((d) => ({ ...d, id: newId() }));
    return (await this.redis.eval(
      SUBJECT_ENSURE_DEFAULTS,
      2 + defaults.length,
      SUBJECTS,
      NAMES,
      ...defaults.map((d) => key(d.id)),
      String(Date.now()),
      ...defaults.flatMap((d) => [d.id, d.name, d.name.toLowerCase(), d.category]),
    )) as number;
  }

  /**
   * Issue 16: puts every subject stored without a category under one (categoryForOldSubject),
   * keeping its id, name and place. Idempotent, and safe with several instances starting at once.
   * Returns how many it changed.
   */
  async migrateCategories(): Promise<number> {
    const ids = await this.redis.zrange(SUBJECTS, 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(key(id), 'name', 'category');
    const old = ((await pipeline.exec()) ?? []).flatMap(([err, fields], i) => {
      if (err) throw err;
      const [name, category] = fields as (string | null)[];
      const id = ids[i];
      return id !== undefined && name && !category ? [{ id, category: categoryForOldSubject(name) }] : [];
    });
    if (old.length === 0) return 0;
    return (await this.redis.eval(
      SUBJECT_MIGRATE_CATEGORIES,
      old.length + 1,
      ...old.map((s) => key(s.id)),
      BOARD,
      MAX_LENGTH,
      ...old.map((s) => s.category),
    )) as number;
  }

  /** Adds a subject last in its category, unless its name (lower-cased) is taken. */
  async create(subject: Omit<Subject, 'retired' | 'position'>): Promise<'done' | 'name-taken'> {
    const result = (await this.redis.eval(
      SUBJECT_CREATE,
      4,
      NAMES,
      SUBJECTS,
      key(subject.id),
      BOARD,
      subject.name.toLowerCase(),
      subject.id,
      subject.name,
      String(subject.createdAt),
      MAX_LENGTH,
      subject.category,
    )) as string;
    return result === 'name-taken' ? 'name-taken' : 'done';
  }

  async rename(id: string, name: string): Promise<SubjectWrite> {
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
    return result === 'unknown' || result === 'name-taken' ? result : 'done';
  }

  async setRetired(id: string, retired: boolean): Promise<'done' | 'unknown'> {
    const result = (await this.redis.eval(
      SUBJECT_SET_RETIRED,
      2,
      key(id),
      BOARD,
      retired ? '1' : '0',
      id,
      MAX_LENGTH,
    )) as string;
    return result === 'unknown' ? 'unknown' : 'done';
  }

  /** Moves a subject to the end of another category (nothing when it is in that one already). */
  async setCategory(id: string, category: SubjectCategory): Promise<'done' | 'unknown'> {
    const result = (await this.redis.eval(
      SUBJECT_SET_CATEGORY,
      3,
      SUBJECTS,
      key(id),
      BOARD,
      id,
      category,
      MAX_LENGTH,
    )) as string;
    return result === 'unknown' ? 'unknown' : 'done';
  }

  /**
   * Puts a category's subjects in use in the order of `ids`, which must be exactly those subjects,
   * each once ('not-the-category' otherwise).
   */
  async reorder(category: SubjectCategory, ids: readonly string[]): Promise<'done' | 'not-the-category'> {
    for (let attempt = 0; attempt < REORDER_TRIES; attempt++) {
      const all = await this.redis.zrange(SUBJECTS, 0, -1);
      const result = (await this.redis.eval(
        SUBJECT_REORDER,
        2 + all.length,
        SUBJECTS,
        BOARD,
        ...all.map(key),
        category,
        MAX_LENGTH,
        String(all.length),
        ...ids,
      )) as string;
      if (result !== 'changed') return result === 'not-the-category' ? result : 'done';
    }
    throw new Error('subjects kept changing during a reorder');
  }

  async get(id: string): Promise<Subject | undefined> {
    const [[hashErr, fields], [scoreErr, score]] = (await this.redis
      .pipeline()
      .hgetall(key(id))
      .zscore(SUBJECTS, id)
      .exec()) as [[Error | null, Record<string, string>], [Error | null, string | null]];
    if (hashErr) throw hashErr;
    if (scoreErr) throw scoreErr;
    return decode(fields, score);
  }

  /** The subject with this name (ignoring case and extra spaces), retired or not. */
  async findByName(name: string): Promise<Subject | undefined> {
    const id = await this.redis.hget(NAMES, name.trim().replace(/\s+/g, ' ').toLowerCase());
    return id ? this.get(id) : undefined;
  }

  /** Every subject, by position (not yet grouped by category). */
  async all(): Promise<Subject[]> {
    const scored = await this.redis.zrange(SUBJECTS, 0, -1, 'WITHSCORES');
    const pipeline = this.redis.pipeline();
    const entries: { id: string; score: string }[] = [];
    for (let i = 0; i + 1 < scored.length; i += 2) {
      const id = scored[i] as string;
      entries.push({ id, score: scored[i + 1] as string });
      pipeline.hgetall(key(id));
    }
    return ((await pipeline.exec()) ?? []).flatMap(([err, fields], i) => {
      if (err) throw err;
      return decode(fields as Record<string, string>, entries[i]?.score ?? null) ?? [];
    });
  }
}
