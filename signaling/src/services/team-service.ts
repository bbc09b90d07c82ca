import type { Redis } from 'ioredis';
import {
  AGENT_STATES,
  avatarUrl,
  isRole,
  type AgentState,
  type TeamMember,
  type Workstation,
  isPauseReason,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import type { Presence } from './presence.js';
import type { WorkstationStore } from './workstation-store.js';

/** UserStore's hash of a user (docs/architecture.md, "Redis keys"); read here field by field. */
const USERS = 'users';

const USER_FIELDS = ['id', 'displayName', 'email', 'role', 'disabled', 'avatarVersion'] as const;
const AGENT_FIELDS = ['state', 'workstationId', 'pausedUntil', 'pauseReason', 'forcedOffBy', 'forcedOffAt'] as const;

function isAgentState(value: unknown): value is AgentState {
  return typeof value === 'string' && (AGENT_STATES as readonly string[]).includes(value);
}

/**
 * The team as every panel shows it (protocol's TeamMember): each enabled user with their avatar,
 * name, workstation, agent state and whether they have the app open. Read afresh from Redis on every
 * change, so that it never drifts from the hashes the services write.
 */
export class TeamService {
  constructor(
    private readonly redis: Redis,
    private readonly workstations: WorkstationStore,
    private readonly presence: Presence,
  ) {}

  /** Every enabled user, by name. */
  async list(): Promise<TeamMember[]> {
    const members = await this.read(await this.redis.smembers(USERS));
    return [...members.values()].sort(
      (a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId),
    );
  }

  /** The member now, or undefined when the user is disabled or gone (`member-gone`). */
  async member(userId: string): Promise<TeamMember | undefined> {
    return (await this.read([userId])).get(userId);
  }

  /** Several members in one round trip; users who are disabled or gone are not in the map. */
  async read(userIds: readonly string[]): Promise<Map<string, TeamMember>> {
    const members = new Map<string, TeamMember>();
    if (userIds.length === 0) return members;
    const reads = this.redis.pipeline();
    for (const id of userIds) {
      reads.hmget(RedisKeys.user(id), ...USER_FIELDS);
      reads.hmget(RedisKeys.agent(id), ...AGENT_FIELDS);
      reads.zscore(RedisKeys.onlineUsers, id);
    }
    const replies = (await reads.exec()) ?? [];
    const failed = replies.find(([err]) => err)?.[0];
    if (failed) throw failed;
    const now = Date.now();
    const wanted = new Set<string>();
    const rows = userIds.map((_, index) => {
      const [id, displayName, email, role, disabled, avatarVersion] = replies[3 * index]?.[1] as (string | null)[];
      const [state, workstationId, pausedUntil, pauseReason, forcedOffBy, forcedOffAt] = replies[
        3 * index + 1
      ]?.[1] as (string | null)[];
      const heartbeat = replies[3 * index + 2]?.[1] as string | null;
      if (workstationId) wanted.add(workstationId);
      return {
        id,
        displayName,
        email,
        role,
        disabled,
        avatarVersion,
        state,
        workstationId,
        pausedUntil,
        pauseReason,
        heartbeat,
        forcedOffBy,
        forcedOffAt,
      };
    });
    const workstations = await this.workstationsById(wanted);
    for (const row of rows) {
      if (!row.id || !isRole(row.role) || row.disabled === '1') continue;
      const workstation = row.workstationId ? workstations.get(row.workstationId) : undefined;
      const state: AgentState = workstation && isAgentState(row.state) ? row.state : 'offline';
      const member: TeamMember = {
        userId: row.id,
        displayName: row.displayName ?? row.email ?? row.id,
        role: row.role,
        state,
        online: this.presence.isFresh(row.heartbeat === null ? null : Number(row.heartbeat), now),
      };
      if (row.avatarVersion) member.avatarUrl = avatarUrl(row.id, row.avatarVersion);
      if (workstation) member.workstation = { id: workstation.id, name: workstation.name, kind: workstation.kind };
      if (state === 'paused' && row.pausedUntil) member.pausedUntil = Number(row.pausedUntil);
      if (state === 'paused' && isPauseReason(row.pauseReason)) member.pauseReason = row.pauseReason;
      if (state === 'offline' && row.forcedOffBy && row.forcedOffAt)
        member.forcedOff = { by: row.forcedOffBy, at: Number(row.forcedOffAt) };
      members.set(row.id, member);
    }
    return members;
  }

  private async workstationsById(ids: Set<string>): Promise<Map<string, Workstation>> {
    const found = await Promise.all([...ids].map((id) => this.workstations.get(id)));
    return new Map(found.flatMap((workstation) => (workstation ? [[workstation.id, workstation] as const] : [])));
  }
}
