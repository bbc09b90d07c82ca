import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { SESSION_COOKIE } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { needsRehash, verifyAgainstDummy, verifyPassword } from '../../../services/passwords.js';
import { normalizeEmail, toPublicUser } from '../../../services/user-store.js';
import { ApiErrorSchema, LoginBodySchema, SessionInfoSchema, errorResponses } from '../../../schemas.js';

function minutes(ms: number): string {
  const n = Math.ceil(ms / 60_000);
  return n === 1 ? '1 minute' : `${n} minutes`;
}

const auth: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: {
        body: LoginBodySchema,
        response: { 200: SessionInfoSchema, ...errorResponses, 429: ApiErrorSchema },
      },
    },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email);
      const verdict = await app.loginLimiter.check(email, request.ip);
      if (!verdict.allowed) {
        const wait = minutes(verdict.retryAfterMs);
        const message =
          verdict.scope === 'account'
            ? `This account is locked for ${wait} after too many failed logins. Try again later or ask a manager.`
            : `Too many failed logins from this network. Try again in ${wait}.`;
        request.log.warn({ email, ip: request.ip, scope: verdict.scope }, 'login refused: rate limit');
        throw new ClientError(429, message, { 'retry-after': String(Math.ceil(verdict.retryAfterMs / 1000)) });
      }

      const user = await app.users.findByEmail(email);
      const valid = user
        ? await verifyPassword(user.passwordHash, request.body.password)
        : await verifyAgainstDummy(request.body.password);
      if (!user || !valid) {
        await app.loginLimiter.recordFailure(email, request.ip);
        request.log.info({ email, ip: request.ip }, 'login failed');
        throw new ClientError(401, 'Wrong email or password.');
      }
      if (user.disabled) throw new ClientError(403, 'This account is disabled. Ask a manager to enable it.');

      await app.loginLimiter.clearAccount(email);
      if (needsRehash(user.passwordHash)) await app.users.rehash(user.id, request.body.password);
      // A new session id at every login: a session id planted before login is worthless after it.
      const previous = request.cookies[SESSION_COOKIE];
      if (previous) await app.sessions.destroy(previous);
      const session = await app.sessions.create(user.id);
      request.log.info({ userId: user.id }, 'login');
      reply.setSessionCookie(session);
      return { user: toPublicUser(user), csrfToken: session.csrfToken };
    },
  );

  app.post(
    '/logout',
    { config: { access: 'session' }, schema: { response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { user, session } = authenticated(request);
      // Ends the session everywhere, push sockets included (SessionStore announces it).
      await app.sessions.destroy(session.id);
      // Logging out frees the workstation at once, so the router stops considering this user.
      await app.agents.leaveWorkstation(user.id);
      request.log.info({ userId: user.id }, 'logout');
      return reply.clearSessionCookie().code(204).send(null);
    },
  );
};

export default auth;
