import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { authenticated } from '../../../plugins/app/auth.js';

const MINUTE_MS = 60_000;

/**
 * Pausing incoming calls (docs/presence-and-pause.md). The pause lives in Redis and ends by itself
 * at `pausedUntil`, whether or not a browser is open. Each change answers the agent status.
 */
const pause: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.pauseStatus.schema }, async (request) =>
    app.agents.status(authenticated(request).user.id),
  );

  // Starts a pause, or gives a running one a new end (counted from now).
  app.put('/', { config: { access: 'session' }, schema: API_ROUTES.pause.schema }, async (request) => {
    const { user } = authenticated(request);
    const status = await app.agents.pause(user.id, request.body.minutes * MINUTE_MS);
    request.log.info(
      { userId: user.id, minutes: request.body.minutes, pausedUntil: status.pausedUntil },
      'pause started',
    );
    return status;
  });

  app.post('/extend', { config: { access: 'session' }, schema: API_ROUTES.extendPause.schema }, async (request) => {
    const { user } = authenticated(request);
    const status = await app.agents.extendPause(user.id, request.body.minutes * MINUTE_MS);
    request.log.info(
      { userId: user.id, minutes: request.body.minutes, pausedUntil: status.pausedUntil },
      'pause extended',
    );
    return status;
  });

  // "I'm back". Ending a pause that is not running changes nothing and answers the status all the same.
  app.delete('/', { config: { access: 'session' }, schema: API_ROUTES.resume.schema }, async (request) => {
    const { user } = authenticated(request);
    const status = await app.agents.resume(user.id);
    request.log.info({ userId: user.id }, 'pause ended by the user');
    return status;
  });

  app.get('/missed', { config: { access: 'session' }, schema: API_ROUTES.missedCalls.schema }, async (request) =>
    app.agents.missedCalls(authenticated(request).user.id),
  );

  app.delete(
    '/missed',
    { config: { access: 'session' }, schema: API_ROUTES.dismissMissedCalls.schema },
    async (request, reply) => {
      await app.agents.dismissMissedCalls(authenticated(request).user.id);
      return reply.code(204).send(null);
    },
  );
};

export default pause;
