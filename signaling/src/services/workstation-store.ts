import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WORKSTATION_KINDS, type Workstation, type WorkstationKind } from '@deskline/protocol';
import { ClientError } from '../errors.js';

const WORKSTATIONS = 'workstations';
const NAMES = 'workstation-names';
const key = (id: string): string => `workstation:${id}`;

function isKind(value: unknown): value is WorkstationKind {
  return typeof value === 'string' && (WORKSTATION_KINDS as readonly string[]).includes(value);
}

/** The clinic's workstations: a browser at a desk, or a desk SIP phone. Names are unique, ignoring case. */
export class WorkstationStore {
  constructor(private readonly redis: Redis) {}

  async create(input: { name: string; kind: WorkstationKind }): Promise<Workstation> {
    const name = input.name.trim().replace(/\s+/g, ' ');
    if (name.length === 0 || name.length > 60) throw new ClientError(400, 'The name must be 1 to 60 characters long.');
    if (!isKind(input.kind)) throw new ClientError(400, `The kind must be one of: ${WORKSTATION_KINDS.join(', ')}.`);
    const id = randomUUID();
    const claimed = await this.redis.hsetnx(NAMES, name.toLowerCase(), id);
    if (claimed === 0) throw new ClientError(409, `A workstation named "${name}" already exists.`);
    await this.redis.multi().hset(key(id), { id, name, kind: input.kind }).sadd(WORKSTATIONS, id).exec();
    return { id, name, kind: input.kind };
  }

  async get(id: string): Promise<Workstation | undefined> {
    const f = await this.redis.hgetall(key(id));
    return f['id'] && f['name'] && isKind(f['kind']) ? { id: f['id'], name: f['name'], kind: f['kind'] } : undefined;
  }

  async list(): Promise<Workstation[]> {
    const ids = await this.redis.smembers(WORKSTATIONS);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(key(id));
    const results = (await pipeline.exec()) ?? [];
    return results
      .map(([, fields]) => fields as Record<string, string>)
      .flatMap((f) => (f['id'] && f['name'] && isKind(f['kind']) ? [{ id: f['id'], name: f['name'], kind: f['kind'] }] : []))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }
}
