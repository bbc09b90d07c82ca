import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';

/**
 * Liveness and readiness for the launcher, Docker, monitoring and Caddy's health check: ok only when
 * Redis answers and the instance is not stopping.
 */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { access: 'public' },
      // Polled by the launcher, Docker and monitors: log it only when something is wrong.
      logLevel: 'warn',
      schema: API_ROUTES.health.schema,
    },
    async (request, reply) => {
      if (app.lifecycle.draining) {
        return reply
          .code(503)
          .send({ statusCode: 503, error: 'Service Unavailable', message: 'This instance is stopping.' });
      }
      try {
        await app.redis.ping();
      } catch (err) {
        request.log.warn({ err }, 'health check: redis unavailable');
        return reply
          .code(503)
          .send({ statusCode: 503, error: 'Service Unavailable', message: 'Redis is not reachable.' });
      }
      return { status: 'ok', redis: 'ok' } as const;
    },
  );
};

export default health;
