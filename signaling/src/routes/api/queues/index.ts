import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';

/**
 * The call plan's queues by id and name (docs/call-plan.md, "Queues"), for everyone logged in: the
 * board filters by queue. Who belongs to which queue, and the rest of the plan, stay managers' own
 * (GET /api/settings/call-plan).
 */
const queues: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.queues.schema }, async () => ({
    queues: (await app.callPlan.get()).queues.map(({ id, name }) => ({ id, name })),
  }));
};

export default queues;
