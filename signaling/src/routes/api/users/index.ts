import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';

/** One year: an avatar's URL names its version, so the bytes behind a URL never change. */
const AVATAR_CACHE = 'private, max-age=31536000, immutable';

/** The team, managed by managers. The command-line tool does the same through UserStore. */
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
      const user = await app.users.create(request.body);
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
      if (request.params.id === request.user?.id) throw new ClientError(400, 'You cannot disable your own account.');
      const user = await app.accounts.disable(request.params.id);
      request.log.info({ userId: user.id, by: request.user?.id }, 'user disabled');
      return user;
    },
  );
};

export default users;
