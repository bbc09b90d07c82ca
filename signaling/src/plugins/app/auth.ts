import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { SESSION_COOKIE } from '@deskline/protocol';
import type { Config } from '../../config.js';
import { ClientError } from '../../errors.js';
import type { Session } from '../../services/session-store.js';
import type { StoredUser } from '../../services/user-store.js';

/**
 * Who may call a route: anyone (`public`: login, health, the web app's files), any logged-in user
 * (`session`), or only managers (`manager`). Every route must declare one (docs/security.md).
 */
export type Access = 'public' | 'session' | 'manager';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Mandatory: a route without it makes the app fail to build. */
    access?: Access;
  }
  interface FastifyInstance {
    /** The access given to routes that a third-party plugin in this scope registers (see `withAccess`). */
    scopeAccess: Access | undefined;
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

const ACCESS = new Set<string>(['public', 'session', 'manager']);

/**
 * Registers a third-party plugin whose routes cannot carry our config (fastify-static's wildcard):
 * every route it adds gets `access`, declared here where the plugin is registered.
 */
export function withAccess(
  access: Access,
  register: (scope: FastifyInstance) => PromiseLike<unknown>,
): FastifyPluginAsync {
  return async (scope) => {
    scope.decorate('scopeAccess', access);
    await register(scope);
  };
}

/**
 * Deny by default. Every route declares its access (an `onRoute` hook refuses one that does not, so
 * the app does not build), and one `onRequest` hook, run before the body is read or validated,
 * enforces it. The decision is made on the route the router matched (`request.routeOptions.config`),
 * never on the raw URL: `/%61pi/users` is the route `/api/users` and meets its guard, and a path the
 * router does not match is a 404 whatever it looks like.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const cookieOptions = {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.config.COOKIE_SECURE,
    } as const;

    app.decorate('scopeAccess', undefined);
    app.decorateRequest('session', null);
    app.decorateRequest('user', null);
    app.decorateReply('setSessionCookie', function (this: FastifyReply, session: Session) {
      return this.setCookie(SESSION_COOKIE, session.id, cookieOptions);
    });
    app.decorateReply('clearSessionCookie', function (this: FastifyReply) {
      return this.clearCookie(SESSION_COOKIE, cookieOptions);
    });

    app.addHook('onRoute', function (this: FastifyInstance, route: RouteOptions) {
      const access = route.config?.access ?? this.scopeAccess;
      if (access === undefined || !ACCESS.has(access)) {
        const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
        throw new Error(
          `${methods} ${route.url} declares no access: add config: { access: 'public' | 'session' | 'manager' }`,
        );
      }
      route.config = { ...route.config, access };
    });

    app.addHook('onRequest', async (request: FastifyRequest) => {
      // No route matched: the not-found handler answers 404, whoever asks.
      if (request.is404) return;
      const access = request.routeOptions.config.access;
      if (access === 'public') return;
      if (access !== 'session' && access !== 'manager')
        throw new Error(`route ${request.routeOptions.url} has no access declared`);
      const cookie = request.cookies[SESSION_COOKIE];
      if (!cookie) throw new ClientError(401, 'Please log in.');
      const session = await app.sessions.touch(cookie);
      if (!session) throw new ClientError(401, 'Your session has ended. Please log in again.');
      const user = await app.users.get(session.userId);
      if (!user || user.disabled) {
        await app.sessions.destroy(cookie);
        throw new ClientError(401, 'Your session has ended. Please log in again.');
      }
      if (access === 'manager' && user.role !== 'manager') throw new ClientError(403, 'Only a manager may do this.');
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
