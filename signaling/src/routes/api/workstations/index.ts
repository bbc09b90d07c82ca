import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, type WorkstationListItem } from '@deskline/protocol';

/**
 * The clinic's workstations: everyone may list them (to pick one: who is on each, and whether its
 * phone is registered); managers create them.
 */
const workstations: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.listWorkstations.schema }, async () => {
    const statuses = await app.workstations.listWithStatus();
    const holderIds = [...new Set(statuses.flatMap((s) => (s.holderId === undefined ? [] : [s.holderId])))];
    const names = new Map(
      await Promise.all(
        holderIds.map(async (id) => [id, (await app.users.get(id))?.displayName ?? 'another user'] as const),
      ),
    );
    return statuses.map(({ workstation, holderId, registered }): WorkstationListItem => ({
      ...workstation,
      ...(holderId === undefined
        ? {}
        : { holder: { userId: holderId, displayName: names.get(holderId) ?? 'another user' } }),
      registered,
    }));
  });

  app.post(
    '/',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.createWorkstation.schema,
    },
    async (request, reply) => {
      const created = await app.workstations.create(request.body);
      // The SIP password is in this answer only; the server keeps its HA1.
      if (created.sipPassword !== undefined) reply.header('cache-control', 'no-store');
      request.log.info(
        { workstationId: created.id, kind: created.kind, sipUser: created.sipUser },
        'workstation created',
      );
      return reply.code(201).send(created);
    },
  );
};

export default workstations;
