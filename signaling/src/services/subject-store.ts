import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  SUBJECT_CATEGORY_NAMES,
  SUBJECT_NAME_MAX_LENGTH,
  SUBJECT_NAME_MIN_LENGTH,
  compareSubjects,
  type Subject,
  type SubjectCategory,
} from '@deskline/protocol';
import { SubjectRecords } from '@deskline/store';
import { ClientError } from '../errors.js';

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
 * What calls are about (issue 5), grouped under three fixed categories (issue 16): managers add,
 * rename, retire, restore, move and reorder subjects; employees choose among the active ones. Names
 * are unique ignoring case across the categories, retired subjects included (so that a report never
 * shows two alike). The Redis side, and the announcement of every change to the panels, is
 * SubjectRecords' (store/).
 */
export class SubjectStore {
  private readonly records: SubjectRecords;

  constructor(redis: Redis) {
    this.records = new SubjectRecords(redis);
  }

  /** Creates the default subjects if there are none at all; returns how many it created. */
  ensureDefaults(): Promise<number> {
    return this.records.ensureDefaults(randomUUID);
  }

  /** Puts the subjects stored before categories existed under one (run at every start); returns how many. */
  migrateCategories(): Promise<number> {
    return this.records.migrateCategories();
  }

  async create(input: { name: string; category?: SubjectCategory | undefined }): Promise<Subject> {
    const name = checkName(input.name);
    const id = randomUUID();
    const result = await this.records.create({
      id,
      name,
      category: input.category ?? 'information',
      createdAt: Date.now(),
    });
    if (result === 'name-taken') throw await this.nameTaken(name);
    return this.require(id);
  }

  /** Renames in place: the id stays, so the tasks that have this subject show the new name. */
  async rename(id: string, newName: string): Promise<Subject> {
    const name = checkName(newName);
    const result = await this.records.rename(id, name);
    if (result === 'unknown') throw new ClientError(404, 'No such subject.');
    if (result === 'name-taken') throw await this.nameTaken(name);
    return this.require(id);
  }

  /** To the end of another category; its tasks, past ones included, count under the new one. */
  async move(id: string, category: SubjectCategory): Promise<Subject> {
    if ((await this.records.setCategory(id, category)) === 'unknown') throw new ClientError(404, 'No such subject.');
    return this.require(id);
  }

  /**
   * A category's subjects in use in a new order; `ids` must be every one of them, once. Returns the
   * category's subjects, in use first, in their new order.
   */
  async reorder(category: SubjectCategory, ids: readonly string[]): Promise<Subject[]> {
    if ((await this.records.reorder(category, ids)) === 'not-the-category') {
      throw new ClientError(
        409,
        `The order must list every subject in use under ${SUBJECT_CATEGORY_NAMES[category]}, each once, and no other; ` +
          'the list may have changed meanwhile: reload it and try again.',
      );
    }
    return (await this.list({ all: true })).filter((s) => s.category === category);
  }

  /** Not offered for new choices any more; kept for the tasks that have it. */
  async retire(id: string): Promise<Subject> {
    return this.setRetired(id, true);
  }

  async restore(id: string): Promise<Subject> {
    return this.setRetired(id, false);
  }

  get(id: string): Promise<Subject | undefined> {
    return this.records.get(id);
  }

  findByName(name: string): Promise<Subject | undefined> {
    return this.records.findByName(name);
  }

  /** Active subjects in the managers' order (by category, then position); with `all`, the retired ones follow, in the same order. */
  async list(options: { all?: boolean } = {}): Promise<Subject[]> {
    const subjects = (await this.records.all()).sort(compareSubjects);
    const active = subjects.filter((s) => !s.retired);
    return options.all ? [...active, ...subjects.filter((s) => s.retired)] : active;
  }

  private async setRetired(id: string, retired: boolean): Promise<Subject> {
    if ((await this.records.setRetired(id, retired)) === 'unknown') throw new ClientError(404, 'No such subject.');
    return this.require(id);
  }

  /** The subject, or a 404. */
  async require(id: string): Promise<Subject> {
    const subject = await this.get(id);
    if (!subject) throw new ClientError(404, 'No such subject.');
    return subject;
  }

  private async nameTaken(name: string): Promise<ClientError> {
    const holder = await this.findByName(name);
    const where = holder ? ` under ${SUBJECT_CATEGORY_NAMES[holder.category]}` : '';
    return new ClientError(
      409,
      holder?.retired
        ? `A retired subject named "${holder.name}" exists${where}; restore it instead.`
        : `A subject named "${holder?.name ?? name}" already exists${where}.`,
    );
  }
}
