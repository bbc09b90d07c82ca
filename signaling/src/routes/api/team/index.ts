import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';

/**
 * The team as every panel shows it: each enabled user's avatar, name, workstation, state and whether
 * they have the app open. The push socket's hello carries the same list, and `member` events follow.
 */
const team: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.team.schema }, async () => app.team.list());
};

export default team;
