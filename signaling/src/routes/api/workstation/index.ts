import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authenticated } from '../../../plugins/app/auth.js';
import { AgentStatusSchema, ApiErrorSchema, errorResponses } from '../../../schemas.js';

/** The workstation the logged-in user works at: which one, pick one, leave it. */
const workstation: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: { response: { 200: AgentStatusSchema, ...errorResponses } } }, async (request) =>
    app.agents.status(authenticated(request).user.id),
  );

  app.put(
    '/',
    {
      config: { access: 'session' },
      schema: {
        body: Type.Object({ workstationId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: AgentStatusSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
      },
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

  app.delete('/', { config: { access: 'session' }, schema: { response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    await app.agents.leaveWorkstation(authenticated(request).user.id);
    return reply.code(204).send(null);
  });
};

export default workstation;
