import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  DESK_PHONE_SIP_USER_PATTERN,
  WORKSTATION_KINDS,
  type CreatedWorkstation,
  type Workstation,
  type WorkstationKind,
} from '@deskline/protocol';
import { RedisKeys, workstationSipUser, WORKSTATION_CREATE, WORKSTATION_SET_CREDENTIALS } from '@deskline/store';
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

/** A workstation as the list shows it: who holds it, and whether its SIP user is registered. */
export interface WorkstationStatus {
  workstation: Workstation;
  holderId?: string;
  registered: boolean;
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
    const name = input.name.trim().replace(/\s+/g, ' ');
    if (name.length === 0 || name.length > 60) throw new ClientError(400, 'The name must be 1 to 60 characters long.');
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

  /** Every workstation with its holder's id and whether Kamailio has its SIP user registered. */
  async listWithStatus(): Promise<WorkstationStatus[]> {
    const workstations = await this.list();
    const pipeline = this.redis.pipeline();
    for (const workstation of workstations) {
      pipeline.get(RedisKeys.workstationHolder(workstation.id));
      const sipUser = workstationSipUser(workstation);
      // A desk phone without a SIP user cannot be registered; ask for a key that cannot exist.
      pipeline.exists(sipUser === undefined ? RedisKeys.sipRegistration('') : RedisKeys.sipRegistration(sipUser));
    }
    const replies = (await pipeline.exec()) ?? [];
    return workstations.map((workstation, index) => {
      const [holderError, holderId] = replies[2 * index] ?? [];
      const [registeredError, registered] = replies[2 * index + 1] ?? [];
      const failed = holderError ?? registeredError;
      if (failed) throw failed;
      return { workstation, ...(typeof holderId === 'string' ? { holderId } : {}), registered: registered === 1 };
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
