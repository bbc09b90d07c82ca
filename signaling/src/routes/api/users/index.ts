import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ClientError } from '../../../errors.js';
import { ApiErrorSchema, CreateUserBodySchema, PublicUserSchema, errorResponses } from '../../../schemas.js';

/** The team, managed by managers. The command-line tool does the same through UserStore. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    { config: { role: 'manager' }, schema: { response: { 200: Type.Array(PublicUserSchema), ...errorResponses } } },
    async () => app.users.list(),
  );

  app.post(
    '/',
    {
      config: { role: 'manager' },
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
      config: { role: 'manager' },
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
