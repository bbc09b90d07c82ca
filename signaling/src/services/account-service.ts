import type { PublicUser } from '@deskline/protocol';
import { ClientError } from '../errors.js';
import type { AgentService } from './agent-service.js';
import type { SessionStore } from './session-store.js';
import { toPublicUser, type UserStore } from './user-store.js';

/** Changes to an account that must also end its sessions. Shared by the API and the command-line tool. */
export class AccountService {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly agents: AgentService,
  ) {}

  async disable(userId: string): Promise<PublicUser> {
    const user = await this.users.get(userId);
    if (!user) throw new ClientError(404, 'No such user.');
    await this.users.setDisabled(userId, true);
    await this.sessions.destroyAllOf(userId);
    await this.agents.leaveWorkstation(userId);
    await this.agents.memberChanged(userId);
    return toPublicUser({ ...user, disabled: true });
  }

  async enable(userId: string): Promise<PublicUser> {
    const user = await this.users.get(userId);
    if (!user) throw new ClientError(404, 'No such user.');
    await this.users.setDisabled(userId, false);
    await this.agents.memberChanged(userId);
    return toPublicUser({ ...user, disabled: false });
  }

  /** Sets a new password and ends every session of the user, so a leaked session dies with the old password. */
  async resetPassword(userId: string, password: string): Promise<void> {
    const user = await this.users.get(userId);
    if (!user) throw new ClientError(404, 'No such user.');
    await this.users.setPassword(userId, password);
    await this.sessions.destroyAllOf(userId);
  }
}
