import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, type WorkstationListItem } from '@deskline/protocol';

/**
 * The clinic's workstations: everyone may list them (to pick one: who is on each, and whether its
 * phone is registered); managers create, rename and remove them and reset a desk phone's SIP password.
 */
const workstations: FastifyPluginAsyncTypebox = async (app) => {
  const displayName = async (userId: string): Promise<string> =>
    (await app.users.get(userId))?.displayName ?? 'another user';

  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.listWorkstations.schema }, async () => {
    const statuses = await app.workstations.listWithStatus();
    const holderIds = [...new Set(statuses.flatMap((s) => (s.holderId === undefined ? [] : [s.holderId])))];
    const names = new Map(await Promise.all(holderIds.map(async (id) => [id, await displayName(id)] as const)));
    return statuses.map(({ workstation, holderId, ...registration }): WorkstationListItem => ({
      ...workstation,
      ...(holderId === undefined
        ? {}
        : { holder: { userId: holderId, displayName: names.get(holderId) ?? 'another user' } }),
      ...registration,
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

  app.patch('/:id', { config: { access: 'manager' }, schema: API_ROUTES.renameWorkstation.schema }, async (request) => {
    const renamed = await app.workstations.rename(request.params.id, request.body.name);
    request.log.info({ workstationId: renamed.id }, 'workstation renamed');
    return renamed;
  });

  app.delete(
    '/:id',
    { config: { access: 'manager' }, schema: API_ROUTES.removeWorkstation.schema },
    async (request, reply) => {
      const { workstation, takenOff } = await app.agents.removeWorkstation(request.params.id, displayName);
      request.log.info(
        { workstationId: workstation.id, sipUser: workstation.sipUser, takenOff },
        'workstation removed',
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/sip-password',
    { config: { access: 'manager' }, schema: API_ROUTES.resetWorkstationSipPassword.schema },
    async (request, reply) => {
      const reset = await app.workstations.resetSipPassword(request.params.id);
      reply.header('cache-control', 'no-store');
      request.log.info({ workstationId: reset.id, sipUser: reset.sipUser }, 'desk phone SIP password reset');
      return reset;
    },
  );
};

export default workstations;
