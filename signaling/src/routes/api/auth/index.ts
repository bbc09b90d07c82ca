import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_ROUTES, SESSION_COOKIE, type SessionInfo } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { describeWait, retryAfterSeconds, type LimitScope } from '../../../services/login-limiter.js';
import { needsRehash, verifyAgainstDummy, verifyPassword } from '../../../services/passwords.js';
import { normalizeEmail, toPublicUser, type StoredUser } from '../../../services/user-store.js';

/** What the login form shows for each refusing limit; each says when to try again. */
const REFUSALS: Record<LimitScope, (wait: string) => string> = {
  pair: (wait) => `Too many failed logins for this account. Try again in ${wait}.`,
  address: (wait) => `Too many failed logins from this network. Try again in ${wait}.`,
  account: (wait) => `This account has had many failed logins. Try again in ${wait}.`,
};

const auth: FastifyPluginAsyncTypebox = async (app) => {
  /** Logs the user in: a new session id at every login, so that a session id planted before login is worthless after it. */
  const startSession = async (request: FastifyRequest, reply: FastifyReply, user: StoredUser): Promise<SessionInfo> => {
    const previous = request.cookies[SESSION_COOKIE];
    if (previous) await app.sessions.destroy(previous);
    const session = await app.sessions.create(user.id);
    reply.setSessionCookie(session);
    return { user: toPublicUser(user), csrfToken: session.csrfToken };
  };

  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: API_ROUTES.login.schema,
    },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email);
      // The attempt is counted before its password is verified, so a burst of concurrent guesses
      // gets no more verifications than the limits allow; unknown emails are limited alike.
      const reservation = await app.loginLimiter.reserve(email, request.ip);
      if (!reservation.granted) {
        app.loginMetrics.refusals += 1;
        const wait = describeWait(reservation.retryAfterMs);
        request.log.warn({ email, ip: request.ip, scope: reservation.scope }, 'login refused: rate limit');
        throw new ClientError(429, REFUSALS[reservation.scope](wait), {
          'retry-after': retryAfterSeconds(reservation.retryAfterMs),
        });
      }

      const user = await app.users.findByEmail(email);
      app.loginMetrics.verifications += 1;
      const valid = user
        ? await verifyPassword(user.passwordHash, request.body.password)
        : await verifyAgainstDummy(request.body.password);
      if (!user || !valid) {
        request.log.info({ email, ip: request.ip }, 'login failed');
        throw new ClientError(401, 'Wrong email or password.');
      }
      await app.loginLimiter.succeeded(reservation);
      if (user.disabled) throw new ClientError(403, 'This account is disabled. Ask a manager to enable it.');

      if (needsRehash(user.passwordHash)) await app.users.rehash(user.id, request.body.password);
      request.log.info({ userId: user.id }, 'login');
      return startSession(request, reply, user);
    },
  );

  // A setup link (docs/managers.md, "Staff"): the user sets their password and is logged in. Public:
  // the token is the proof; a CSRF token cannot exist before a session, and the Origin check applies.
  app.post(
    '/setup',
    { config: { access: 'public' }, schema: API_ROUTES.setupAccount.schema },
    async (request, reply) => {
      const user = await app.accounts.completeSetup(request.body.token, request.body.password);
      request.log.info({ userId: user.id }, 'password set with a setup link; login');
      return startSession(request, reply, user);
    },
  );

  app.post('/logout', { config: { access: 'session' }, schema: API_ROUTES.logout.schema }, async (request, reply) => {
    const { user, session } = authenticated(request);
    // Ends the session everywhere, push sockets included (SessionStore announces it).
    await app.sessions.destroy(session.id);
    // Logging out frees the workstation at once, so the router stops considering this user.
    await app.agents.leaveWorkstation(user.id);
    request.log.info({ userId: user.id }, 'logout');
    return reply.clearSessionCookie().code(204).send(null);
  });
};

export default auth;
