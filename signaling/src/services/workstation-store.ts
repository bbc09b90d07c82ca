import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  DESK_PHONE_SIP_USER_PATTERN,
  WORKSTATION_KINDS,
  type CreatedWorkstation,
  type Workstation,
  type WorkstationKind,
} from '@deskline/protocol';
import {
  RedisKeys,
  workstationSipUser,
  WORKSTATION_CREATE,
  WORKSTATION_REMOVE,
  WORKSTATION_RENAME,
  WORKSTATION_SET_CREDENTIALS,
} from '@deskline/store';
import { ClientError } from '../errors.js';
import { generatePassword } from './generated-password.js';

const WORKSTATIONS = RedisKeys.workstations;
const NAMES = RedisKeys.workstationNames;
const key = RedisKeys.workstation;

/** Desk phones created without a SIP user get the first free one of phone-1, phone-2, … */
const DEFAULT_SIP_USER_PREFIX = 'phone-';

function isKind(value: unknown): value is WorkstationKind {
  return typeof value === 'string' && (WORKSTATION_KINDS as readonly string[]).includes(value);
}

function fromHash(f: Record<string, string>): Workstation | undefined {
  if (!f['id'] || !f['name'] || !isKind(f['kind'])) return undefined;
  return {
    id: f['id'],
    name: f['name'],
    kind: f['kind'],
    ...(f['kind'] === 'sip-phone' && f['sipUser'] ? { sipUser: f['sipUser'] } : {}),
  };
}

/** What Kamailio checks a desk phone's digest against: md5(user:realm:password), never the password. */
export function sipHa1(sipUser: string, domain: string, password: string): string {
  return createHash('md5').update(`${sipUser}:${domain}:${password}`).digest('hex');
}

/** A workstation as the list shows it: who holds it, and what Kamailio last saw of its SIP user. */
export interface WorkstationStatus {
  workstation: Workstation;
  holderId?: string;
  registered: boolean;
  /** Epoch ms of its last successful REGISTER, registered now or not. */
  lastSeenAt?: number;
  /** The User-Agent of that REGISTER ('' if it sent none). */
  userAgent?: string;
}

/** The same rule as at creation: trimmed, inner spaces collapsed, 1 to 60 characters. */
function workstationName(input: string): string {
  const name = input.trim().replace(/\s+/g, ' ');
  if (name.length === 0 || name.length > 60) throw new ClientError(400, 'The name must be 1 to 60 characters long.');
  return name;
}

/**
 * The clinic's workstations: a browser at a desk, or a desk SIP phone. Names are unique, ignoring case.
 * A desk phone has a SIP user and a password generated here; Redis keeps only the password's HA1 in
 * `sip-credentials`, which Kamailio checks REGISTERs against (docs/call-path.md, "SIP identities").
 */
export class WorkstationStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: { sipDomain: string },
  ) {}

  /** Creates a workstation; a desk phone's SIP password is in the result, and nowhere else. */
  async create(input: {
    name: string;
    kind: WorkstationKind;
    sipUser?: string | undefined;
  }): Promise<CreatedWorkstation> {
    const name = workstationName(input.name);
    if (!isKind(input.kind)) throw new ClientError(400, `The kind must be one of: ${WORKSTATION_KINDS.join(', ')}.`);
    if (input.kind !== 'sip-phone' && input.sipUser !== undefined)
      throw new ClientError(400, 'Only a desk phone has a SIP user.');
    const chosen = input.sipUser === undefined ? undefined : this.checkSipUser(input.sipUser);
    const id = randomUUID();

    for (let attempt = 0; ; attempt++) {
      const sipUser = input.kind !== 'sip-phone' ? undefined : (chosen ?? (await this.freeDefaultSipUser()));
      const sipPassword = sipUser === undefined ? undefined : generatePassword();
      const ha1 =
        sipUser === undefined || sipPassword === undefined ? '' : sipHa1(sipUser, this.options.sipDomain, sipPassword);
      const result = (await this.redis.eval(
        WORKSTATION_CREATE,
        4,
        NAMES,
        RedisKeys.sipCredentials,
        key(id),
        WORKSTATIONS,
        name.toLowerCase(),
        id,
        name,
        input.kind,
        sipUser ?? '',
        ha1,
      )) as string;
      if (result === 'name-taken') throw new ClientError(409, `A workstation named "${name}" already exists.`);
      if (result === 'sip-user-taken') {
        // Someone took the default name between our look and the script: look again.
        if (chosen === undefined && attempt < 5) continue;
        throw new ClientError(409, `The SIP user "${sipUser}" is in use already.`);
      }
      return { id, name, kind: input.kind, ...(sipUser === undefined ? {} : { sipUser, sipPassword }) };
    }
  }

  /**
   * A new SIP password for a desk phone (given a SIP user if it has none), replacing the old one at
   * once: the phone must be set to it before its next registration.
   */
  async resetSipPassword(
    id: string,
    sipUser?: string,
  ): Promise<CreatedWorkstation & { sipUser: string; sipPassword: string }> {
    const workstation = await this.get(id);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    if (workstation.kind !== 'sip-phone')
      throw new ClientError(409, `${workstation.name} is not a desk phone; it has no SIP password.`);
    if (sipUser !== undefined && workstation.sipUser !== undefined && sipUser !== workstation.sipUser) {
      throw new ClientError(409, `${workstation.name} has the SIP user "${workstation.sipUser}" already.`);
    }
    const user =
      workstation.sipUser ?? (sipUser === undefined ? await this.freeDefaultSipUser() : this.checkSipUser(sipUser));
    const sipPassword = generatePassword();
    const result = (await this.redis.eval(
      WORKSTATION_SET_CREDENTIALS,
      2,
      key(id),
      RedisKeys.sipCredentials,
      user,
      sipHa1(user, this.options.sipDomain, sipPassword),
      workstation.sipUser === undefined ? '1' : '0',
    )) as string;
    if (result === 'sip-user-taken') throw new ClientError(409, `The SIP user "${user}" is in use already.`);
    if (result !== 'set') throw new ClientError(404, 'No such workstation.');
    return { ...workstation, sipUser: user, sipPassword };
  }

  /** Renames a workstation; its id, and so its history, holder and SIP user, stay. */
  async rename(id: string, newName: string): Promise<Workstation> {
    const name = workstationName(newName);
    const workstation = await this.get(id);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const result = (await this.redis.eval(
      WORKSTATION_RENAME,
      2,
      key(id),
      NAMES,
      id,
      name,
      name.toLowerCase(),
      workstation.name,
      workstation.name.toLowerCase(),
    )) as string;
    if (result === 'missing') throw new ClientError(404, 'No such workstation.');
    if (result === 'changed')
      throw new ClientError(409, `${workstation.name} was just changed by someone else; try again.`);
    if (result === 'name-taken') throw new ClientError(409, `A workstation named "${name}" already exists.`);
    return { ...workstation, name };
  }

  /**
   * Removes a workstation that nobody holds (AgentService.removeWorkstation takes its holder off
   * first), and with it its SIP credentials: Kamailio refuses the next REGISTER and drops the current
   * registration (docs/call-path.md, "SIP identities").
   */
  async remove(id: string): Promise<Workstation> {
    const workstation = await this.get(id);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const sipUser = workstationSipUser(workstation) ?? '';
    const result = (await this.redis.eval(
      WORKSTATION_REMOVE,
      8,
      key(id),
      NAMES,
      WORKSTATIONS,
      RedisKeys.sipCredentials,
      RedisKeys.workstationHolder(id),
      RedisKeys.sipRevocations,
      RedisKeys.sipRegistrationSeen(sipUser),
      RedisKeys.sipAuth(sipUser),
      id,
      sipUser,
      workstation.name.toLowerCase(),
    )) as string;
    if (result === 'missing') throw new ClientError(404, 'No such workstation.');
    if (result === 'held') throw new ClientError(409, `Someone has just picked ${workstation.name}; try again.`);
    return workstation;
  }

  async get(id: string): Promise<Workstation | undefined> {
    return fromHash(await this.redis.hgetall(key(id)));
  }

  async findByName(name: string): Promise<Workstation | undefined> {
    const id = await this.redis.hget(NAMES, name.trim().replace(/\s+/g, ' ').toLowerCase());
    return id ? this.get(id) : undefined;
  }

  async list(): Promise<Workstation[]> {
    const ids = await this.redis.smembers(WORKSTATIONS);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(key(id));
    const results = (await pipeline.exec()) ?? [];
    return results
      .flatMap(([, fields]) => fromHash(fields as Record<string, string>) ?? [])
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  /** Every workstation with its holder's id, and whether Kamailio has its SIP user registered and when it last did. */
  async listWithStatus(): Promise<WorkstationStatus[]> {
    const workstations = await this.list();
    const pipeline = this.redis.pipeline();
    for (const workstation of workstations) {
      pipeline.get(RedisKeys.workstationHolder(workstation.id));
      // A desk phone without a SIP user cannot be registered; ask for keys that cannot exist.
      const sipUser = workstationSipUser(workstation) ?? '';
      pipeline.exists(RedisKeys.sipRegistration(sipUser));
      pipeline.hmget(RedisKeys.sipRegistrationSeen(sipUser), 'userAgent', 'at');
    }
    const replies = (await pipeline.exec()) ?? [];
    return workstations.map((workstation, index) => {
      const [holderError, holderId] = replies[3 * index] ?? [];
      const [registeredError, registered] = replies[3 * index + 1] ?? [];
      const [seenError, seen] = replies[3 * index + 2] ?? [];
      const failed = holderError ?? registeredError ?? seenError;
      if (failed) throw failed;
      const [userAgent, at] = (seen as (string | null)[] | undefined) ?? [];
      const lastSeen = Number(at);
      return {
        workstation,
        ...(typeof holderId === 'string' ? { holderId } : {}),
        registered: registered === 1,
        ...(at && Number.isSafeInteger(lastSeen) ? { lastSeenAt: lastSeen * 1000, userAgent: userAgent ?? '' } : {}),
      };
    });
  }

  private checkSipUser(sipUser: string): string {
    if (!DESK_PHONE_SIP_USER_PATTERN.test(sipUser)) {
      throw new ClientError(
        400,
        'The SIP user must be 1 to 64 lower-case letters, digits, dots, dashes or underscores, and must not start with "ws-".',
      );
    }
    return sipUser;
  }

  /** The first phone-<n> with no credentials in Redis. */
  private async freeDefaultSipUser(): Promise<string> {
    const taken = new Set(await this.redis.hkeys(RedisKeys.sipCredentials));
    for (let n = 1; ; n++) if (!taken.has(`${DEFAULT_SIP_USER_PREFIX}${n}`)) return `${DEFAULT_SIP_USER_PREFIX}${n}`;
  }
}
