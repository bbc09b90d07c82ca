import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE, type Role } from '@deskline/protocol';
import type { Config } from '../../config.js';
import { ClientError } from '../../errors.js';
import type { Session } from '../../services/session-store.js';
import type { StoredUser } from '../../services/user-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route works without a session (login, health). */
    public?: boolean;
    /** Only users with this role may call the route. */
    role?: Role;
  }
  interface FastifyRequest {
    session: Session | null;
    user: StoredUser | null;
  }
  interface FastifyReply {
    setSessionCookie(session: Session): FastifyReply;
    clearSessionCookie(): FastifyReply;
  }
}

/** Loads the session named by the cookie; every /api route but the public ones requires one. */
export default fp(
  async (app, opts: { config: Config }) => {
    const cookieOptions = {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.config.COOKIE_SECURE,
    } as const;

    app.decorateRequest('session', null);
    app.decorateRequest('user', null);
    app.decorateReply('setSessionCookie', function (this: FastifyReply, session: Session) {
      return this.setCookie(SESSION_COOKIE, session.id, cookieOptions);
    });
    app.decorateReply('clearSessionCookie', function (this: FastifyReply) {
      return this.clearCookie(SESSION_COOKIE, cookieOptions);
    });

    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (!request.url.startsWith('/api/') || request.routeOptions.config.public) return;
      const cookie = request.cookies[SESSION_COOKIE];
      if (!cookie) throw new ClientError(401, 'Please log in.');
      const session = await app.sessions.touch(cookie);
      if (!session) throw new ClientError(401, 'Your session has ended. Please log in again.');
      const user = await app.users.get(session.userId);
      if (!user || user.disabled) {
        await app.sessions.destroy(cookie);
        throw new ClientError(401, 'Your session has ended. Please log in again.');
      }
      const role = request.routeOptions.config.role;
      if (role && user.role !== role) throw new ClientError(403, `Only a ${role} may do this.`);
      request.session = session;
      request.user = user;
    });
  },
  { name: 'auth', dependencies: ['stores'] },
);

/** The logged-in user and session of a request to a non-public route. */
export function authenticated(request: FastifyRequest): { user: StoredUser; session: Session } {
  if (!request.user || !request.session) throw new ClientError(401, 'Please log in.');
  return { user: request.user, session: request.session };
}
