import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis, type RedisSettings } from '@deskline/env-config/redis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

/**
 * The shared Redis connection, directly or through Sentinel (REDIS_SENTINELS). Commands fail fast
 * while Redis is away instead of piling up; the connections duplicated from it follow the master too.
 */
export default fp(
  async (app, opts: { settings: RedisSettings }) => {
    // An unreachable Redis at startup is a clear error; once connected, ioredis reconnects by itself.
    const redis = await connectRedis(opts.settings, {
      connectionName: 'signaling',
      onError: (message) => app.log.warn({ err: message }, 'redis connection problem'),
    });
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      await closeRedis(redis);
    });
  },
  { name: 'redis' },
);
