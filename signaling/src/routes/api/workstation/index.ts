import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { authenticated } from '../../../plugins/app/auth.js';

/** The workstation the logged-in user works at: which one, pick one, leave it. */
const workstation: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.agentStatus.schema }, async (request) =>
    app.agents.status(authenticated(request).user.id),
  );

  app.put(
    '/',
    {
      config: { access: 'session' },
      schema: API_ROUTES.selectWorkstation.schema,
    },
    async (request) => {
      const { user } = authenticated(request);
      const status = await app.agents.selectWorkstation(user.id, request.body.workstationId, async (holderId) => {
        return (await app.users.get(holderId))?.displayName ?? 'another user';
      });
      request.log.info({ userId: user.id, workstationId: request.body.workstationId }, 'workstation selected');
      return status;
    },
  );

  app.delete(
    '/',
    { config: { access: 'session' }, schema: API_ROUTES.leaveWorkstation.schema },
    async (request, reply) => {
      await app.agents.leaveWorkstation(authenticated(request).user.id);
      return reply.code(204).send(null);
    },
  );
};

export default workstation;
