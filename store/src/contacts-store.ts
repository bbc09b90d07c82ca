import type { Redis } from 'ioredis';
import type { Contact } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/** The stored form of a contact: the number is the hash field. */
interface StoredContact {
  name: string;
  note: string;
  updatedAt: number;
}

function decode(number: string, json: string | null | undefined): Contact | undefined {
  if (json === null || json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as Partial<StoredContact>;
    if (typeof value.name !== 'string') return undefined;
    return {
      number,
      name: value.name,
      note: typeof value.note === 'string' ? value.note : '',
      updatedAt: typeof value.updatedAt === 'number' ? value.updatedAt : 0,
    };
  } catch {
    return undefined;
  }
}

function encode(contact: Contact): string {
  const stored: StoredContact = { name: contact.name, note: contact.note, updatedAt: contact.updatedAt };
  return JSON.stringify(stored);
}

/** Sets the field only when it exists: an edit never brings back a contact deleted meanwhile. */
const SET_IF_EXISTS = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/**
 * Contacts (issue 16, item 5) in Redis: one hash, E.164 number -> JSON. Numbers come here already
 * normalized (signaling's ContactService, the sip app's ring): this module only stores.
 */
export class ContactStore {
  constructor(private readonly redis: Redis) {}

  async list(): Promise<Contact[]> {
    const all = await this.redis.hgetall(RedisKeys.contacts);
    return Object.entries(all)
      .map(([number, json]) => decode(number, json))
      .filter((c): c is Contact => c !== undefined);
  }

  async count(): Promise<number> {
    return this.redis.hlen(RedisKeys.contacts);
  }

  async get(number: string): Promise<Contact | undefined> {
    return decode(number, await this.redis.hget(RedisKeys.contacts, number));
  }

  /** The contacts of these numbers, in the same order (undefined where there is none). */
  async getMany(numbers: readonly string[]): Promise<(Contact | undefined)[]> {
    if (numbers.length === 0) return [];
    const values = await this.redis.hmget(RedisKeys.contacts, ...numbers);
    return numbers.map((number, i) => decode(number, values[i]));
  }

  /** Adds the contact; false when the number has one already. */
  async add(contact: Contact): Promise<boolean> {
    return (await this.redis.hsetnx(RedisKeys.contacts, contact.number, encode(contact))) === 1;
  }

  /** Replaces an existing contact; false when the number has none. */
  async replace(contact: Contact): Promise<boolean> {
    return (await this.redis.eval(SET_IF_EXISTS, 1, RedisKeys.contacts, contact.number, encode(contact))) === 1;
  }

  /** Writes all of them at once (an import): either every one is stored or none is. */
  async putAll(contacts: readonly Contact[]): Promise<void> {
    if (contacts.length === 0) return;
    const fields: string[] = [];
    for (const contact of contacts) fields.push(contact.number, encode(contact));
    await this.redis.hset(RedisKeys.contacts, ...fields);
  }

  /** Removes the contacts of these numbers; how many there were. */
  async delete(...numbers: string[]): Promise<number> {
    if (numbers.length === 0) return 0;
    return this.redis.hdel(RedisKeys.contacts, ...numbers);
  }
}
