import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';

/** One year: an avatar's URL names its version, so the bytes behind a URL never change. */
const AVATAR_CACHE = 'private, max-age=31536000, immutable';

/** The team, managed by managers (docs/managers.md, "Staff"). The command-line tool does the same through AccountService. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  // Everyone logged in sees their colleagues' pictures (the team list, the header).
  app.get(
    '/:id/avatar',
    {
      config: { access: 'session' },
      schema: API_ROUTES.avatar.schema,
    },
    async (request, reply) => {
      const avatar = await app.profiles.avatar(request.params.id);
      if (!avatar) throw new ClientError(404, 'This user has no picture.');
      // A URL with another version than the current one gets the current picture, but no long cache.
      const current = request.query.v === avatar.version;
      return reply
        .header('content-type', avatar.contentType)
        .header('cache-control', current ? AVATAR_CACHE : 'private, no-cache')
        .header('etag', `"${avatar.version}"`)
        .header('x-content-type-options', 'nosniff')
        .send(avatar.image);
    },
  );

  app.get('/', { config: { access: 'manager' }, schema: API_ROUTES.listUsers.schema }, async () => app.users.list());

  app.post(
    '/',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.createUser.schema,
    },
    async (request, reply) => {
      const user = await app.accounts.create(request.body);
      request.log.info({ userId: user.id, by: request.user?.id }, 'user created');
      return reply.code(201).send(user);
    },
  );

  app.post(
    '/:id/disable',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.disableUser.schema,
    },
    async (request) => {
      const { user: manager } = authenticated(request);
      if (request.params.id === manager.id) throw new ClientError(400, 'You cannot disable your own account.');
      const user = await app.accounts.disable(request.params.id);
      request.log.info({ userId: user.id, by: manager.id }, 'user disabled');
      return user;
    },
  );

  app.post('/:id/enable', { config: { access: 'manager' }, schema: API_ROUTES.enableUser.schema }, async (request) => {
    const user = await app.accounts.enable(request.params.id);
    request.log.info({ userId: user.id, by: request.user?.id }, 'user enabled');
    return user;
  });

  app.put('/:id/role', { config: { access: 'manager' }, schema: API_ROUTES.setUserRole.schema }, async (request) => {
    const user = await app.accounts.setRole(request.params.id, request.body.role);
    request.log.info({ userId: user.id, role: user.role, by: request.user?.id }, 'user role changed');
    return user;
  });

  app.post(
    '/:id/password',
    { config: { access: 'manager' }, schema: API_ROUTES.resetUserPassword.schema },
    async (request) => {
      const issued = await app.accounts.resetCredentials(request.params.id, request.body.setup);
      request.log.info(
        { userId: request.params.id, setup: request.body.setup, by: request.user?.id },
        'password reset',
      );
      return issued;
    },
  );

  app.post(
    '/:id/force-off',
    { config: { access: 'manager' }, schema: API_ROUTES.forceOffWorkstation.schema },
    async (request, reply) => {
      const { user: manager } = authenticated(request);
      await app.accounts.forceOff(request.params.id, manager.displayName);
      request.log.info({ userId: request.params.id, by: manager.id }, 'user taken off their workstation');
      return reply.code(204).send(null);
    },
  );
};

export default users;
