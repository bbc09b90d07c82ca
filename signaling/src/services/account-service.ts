import type { CreatedUser, CredentialSetup, IssuedCredentials, PublicUser, Role } from '@deskline/protocol';
import { ClientError } from '../errors.js';
import type { AgentService } from './agent-service.js';
import { generatePassword } from './generated-password.js';
import { describeWait, retryAfterSeconds, type LoginLimiter } from './login-limiter.js';
import { passwordProblem, verifyPassword } from './passwords.js';
import type { Session, SessionStore } from './session-store.js';
import type { SetupLinks } from './setup-links.js';
import { toPublicUser, type NewUser, type StoredUser, type UserStore } from './user-store.js';

/**
 * Changes to an account that must also end its sessions, and the managers' Staff screen (docs/managers.md,
 * "Staff"). Shared by the API and the command-line tool.
 */
export class AccountService {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly agents: AgentService,
    private readonly limiter: LoginLimiter,
    private readonly setupLinks: SetupLinks,
  ) {}

  /**
   * Adds a user: with the password given, or else (`setup`) with a one-time setup link (the default)
   * or a generated password, which the answer carries this once.
   */
  async create(
    input: Omit<NewUser, 'password'> & { password?: string; setup?: CredentialSetup },
  ): Promise<CreatedUser> {
    const { setup = 'link', ...fields } = input;
    if (fields.password !== undefined) return this.users.create(fields);
    const password = setup === 'password' ? generatePassword() : undefined;
    const user = await this.users.create(password === undefined ? fields : { ...fields, password });
    return { ...user, ...(password === undefined ? await this.setupLinks.issue(user.id) : { password }) };
  }

  /** A new role; refused when it would leave no manager who can log in. */
  async setRole(userId: string, role: Role): Promise<PublicUser> {
    const user = await this.existing(userId);
    if (user.role === role) return toPublicUser(user);
    if (user.role === 'manager')
      await this.keepAManager(user, `${user.displayName} is the last manager: make someone else a manager first.`);
    await this.users.setRole(userId, role);
    return toPublicUser({ ...user, role });
  }

  /**
   * A new way in for a user who lost theirs: a setup link or a generated password (answered once).
   * The old password stops working and every session of the user ends at once.
   */
  async resetCredentials(userId: string, setup: CredentialSetup): Promise<IssuedCredentials> {
    if (setup === 'password') {
      const password = generatePassword();
      await this.resetPassword(userId, password);
      return { password };
    }
    await this.existing(userId);
    await this.users.clearPassword(userId);
    await this.endSessions(userId);
    return this.setupLinks.issue(userId);
  }

  /**
   * The user opened their setup link and chose a password: it is set (checked like any other), the
   * link is used up, and the user is returned to be logged in. Refused alike for a link that was
   * used, has expired or never existed, and for a disabled user.
   */
  async completeSetup(token: string, password: string): Promise<StoredUser> {
    const invalid = new ClientError(
      400,
      'This setup link is not valid any more: it was used, or it expired. Ask a manager for a new one.',
    );
    const userId = await this.setupLinks.peek(token);
    const user = userId === undefined ? undefined : await this.users.get(userId);
    if (!user || user.disabled) throw invalid;
    const problem = passwordProblem(password, user);
    if (problem) throw new ClientError(400, problem);
    // Taken once: of two uses at the same time, one gets it.
    if ((await this.setupLinks.take(token)) !== user.id) throw invalid;
    await this.users.setPassword(user.id, password);
    await this.endSessions(user.id);
    return user;
  }

  /** Takes the user off their workstation, on a manager's word (`byName`); the router skips them from now on. */
  async forceOff(userId: string, byName: string): Promise<void> {
    const user = await this.existing(userId);
    await this.agents.forceOff(user.id, user.displayName, byName);
  }

  async disable(userId: string): Promise<PublicUser> {
    const user = await this.existing(userId);
    if (user.role === 'manager' && !user.disabled)
      await this.keepAManager(user, `${user.displayName} is the last manager: make someone else a manager first.`);
    await this.users.setDisabled(userId, true);
    await this.setupLinks.revoke(userId);
    await this.sessions.destroyAllOf(userId);
    await this.agents.leaveWorkstation(userId);
    await this.agents.memberChanged(userId);
    return toPublicUser({ ...user, disabled: true });
  }

  async enable(userId: string): Promise<PublicUser> {
    const user = await this.existing(userId);
    await this.users.setDisabled(userId, false);
    await this.agents.memberChanged(userId);
    return toPublicUser({ ...user, disabled: false });
  }

  /** Sets a new password and ends every session of the user, so a leaked session dies with the old password. */
  async resetPassword(userId: string, password: string): Promise<void> {
    await this.existing(userId);
    await this.users.setPassword(userId, password);
    await this.setupLinks.revoke(userId);
    await this.endSessions(userId);
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

  private async existing(userId: string): Promise<StoredUser> {
    const user = await this.users.get(userId);
    if (!user) throw new ClientError(404, 'No such user.');
    return user;
  }

  private async endSessions(userId: string): Promise<void> {
    await this.sessions.destroyAllOf(userId);
    await this.agents.revokeSipCredentials(userId);
  }

  /**
   * 409 with `message` unless a manager other than `user` can log in. Read, then written: two managers
   * demoting each other at the same instant could both pass (a manager can still be made with the CLI).
   */
  private async keepAManager(user: StoredUser, message: string): Promise<void> {
    const others = (await this.users.list()).filter((u) => u.role === 'manager' && !u.disabled && u.id !== user.id);
    if (others.length === 0) throw new ClientError(409, message);
  }
}
