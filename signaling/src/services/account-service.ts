import type { PublicUser } from '@deskline/protocol';
import { ClientError } from '../errors.js';
import type { AgentService } from './agent-service.js';
import { describeWait, retryAfterSeconds, type LoginLimiter } from './login-limiter.js';
import { passwordProblem, verifyPassword } from './passwords.js';
import type { Session, SessionStore } from './session-store.js';
import { toPublicUser, type UserStore } from './user-store.js';

/** Changes to an account that must also end its sessions. Shared by the API and the command-line tool. */
export class AccountService {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly agents: AgentService,
    private readonly limiter: LoginLimiter,
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
    await this.agents.revokeSipCredentials(userId);
  }

  /**
   * The user changes their own password. The current one must be given; guesses count against the
   * same limits as failed logins, counted before the check (so a stolen session cannot be used to
   * find the password), and are refused with 429 while a limit holds. On success every other
   * session of the user ends, and the current one is replaced by a new session (new id and CSRF
   * token): the old cookie no longer works anywhere. Returns the new session and how many others ended.
   */
  async changePassword(input: {
    session: Session;
    currentPassword: string;
    newPassword: string;
    ip: string;
  }): Promise<{ session: Session; endedSessions: number }> {
    const user = await this.users.get(input.session.userId);
    if (!user) throw new ClientError(404, 'No such user.');
    const reservation = await this.limiter.reserve(user.email, input.ip);
    if (!reservation.granted) {
      throw new ClientError(429, `Too many wrong passwords. Try again in ${describeWait(reservation.retryAfterMs)}.`, {
        'retry-after': retryAfterSeconds(reservation.retryAfterMs),
      });
    }
    if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
      throw new ClientError(403, 'The current password is wrong. Your password was not changed.');
    }
    await this.limiter.succeeded(reservation);
    const problem = passwordProblem(input.newPassword, user);
    if (problem) throw new ClientError(400, problem);
    if (input.newPassword === input.currentPassword) {
      throw new ClientError(400, 'The new password must be different from the current one.');
    }

    await this.users.setPassword(user.id, input.newPassword);
    await this.agents.revokeSipCredentials(user.id);
    const endedSessions = await this.sessions.destroyAllOf(user.id, input.session.id);
    const session = await this.sessions.renew(input.session.id);
    if (!session) throw new ClientError(401, 'Your session has ended. Please log in again.');
    return { session, endedSessions };
  }
}
