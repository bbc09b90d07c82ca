import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TeamMemberSchema, errorResponses } from '../../../schemas.js';

/**
 * The team as every panel shows it: each enabled user's avatar, name, workstation, state and whether
 * they have the app open. The push socket's hello carries the same list, and `member` events follow.
 */
const team: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: { response: { 200: Type.Array(TeamMemberSchema), ...errorResponses } } }, async () => app.team.list());
};

export default team;
