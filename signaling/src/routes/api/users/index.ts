import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ClientError } from '../../../errors.js';
import { ApiErrorSchema, CreateUserBodySchema, PublicUserSchema, errorResponses } from '../../../schemas.js';

/** One year: an avatar's URL names its version, so the bytes behind a URL never change. */
const AVATAR_CACHE = 'private, max-age=31536000, immutable';

/** The team, managed by managers. The command-line tool does the same through UserStore. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  // Everyone logged in sees their colleagues' pictures (the team list, the header).
  app.get(
    '/:id/avatar',
    {
      config: { access: 'session' },
      schema: {
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'the picture, image/webp' }),
          ...errorResponses,
          404: ApiErrorSchema,
        },
      },
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

  app.get(
    '/',
    { config: { access: 'manager' }, schema: { response: { 200: Type.Array(PublicUserSchema), ...errorResponses } } },
    async () => app.users.list(),
  );

  app.post(
    '/',
    {
      config: { access: 'manager' },
      schema: { body: CreateUserBodySchema, response: { 201: PublicUserSchema, ...errorResponses, 409: ApiErrorSchema } },
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
      schema: {
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: PublicUserSchema, ...errorResponses, 404: ApiErrorSchema },
      },
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
