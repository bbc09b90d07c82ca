import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { authenticated } from '../../../plugins/app/auth.js';
import { toPublicUser } from '../../../services/user-store.js';
import avatar from './avatar.js';

/**
 * The logged-in user: who they are and the CSRF token of this session (the web app calls GET on
 * start), and the settings they change themselves: name, picture (./avatar.ts), password and
 * preferences.
 */
const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.me.schema }, async (request) => {
    const { user, session } = authenticated(request);
    return { user: toPublicUser(user), csrfToken: session.csrfToken };
  });

  app.put('/profile', { config: { access: 'session' }, schema: API_ROUTES.updateProfile.schema }, async (request) => {
    const { user } = authenticated(request);
    await app.profiles.setDisplayName(user.id, request.body.displayName);
    request.log.info({ userId: user.id }, 'display name changed');
    return toPublicUser((await app.users.get(user.id)) ?? user);
  });

  app.put(
    '/password',
    {
      config: { access: 'session' },
      schema: API_ROUTES.changePassword.schema,
    },
    async (request, reply) => {
      const { user, session } = authenticated(request);
      const changed = await app.accounts.changePassword({
        session,
        currentPassword: request.body.currentPassword,
        newPassword: request.body.newPassword,
        ip: request.ip,
      });
      request.log.info({ userId: user.id, endedSessions: changed.endedSessions }, 'password changed');
      reply.setSessionCookie(changed.session);
      return { user: toPublicUser(user), csrfToken: changed.session.csrfToken };
    },
  );

  app.get('/preferences', { config: { access: 'session' }, schema: API_ROUTES.preferences.schema }, async (request) =>
    app.profiles.preferences(authenticated(request).user.id),
  );

  app.put(
    '/preferences',
    { config: { access: 'session' }, schema: API_ROUTES.setPreferences.schema },
    async (request) => app.profiles.setPreferences(authenticated(request).user.id, request.body),
  );

  await app.register(avatar, { prefix: '/avatar' });
};

export default me;
