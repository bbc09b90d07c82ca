import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

/** The shared Redis connection. Commands fail fast while Redis is away instead of piling up. */
export default fp(
  async (app, opts: { url: string }) => {
    // An unreachable Redis at startup is a clear error; once connected, ioredis reconnects by itself.
    const redis = new Redis(opts.url, { maxRetriesPerRequest: 2, lazyConnect: true, connectionName: 'signaling' });
    redis.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis connection problem'));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`Cannot reach Redis at ${redactUrl(opts.url)}: ${(err as Error).message}`);
    }
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis' },
);

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured REDIS_URL';
  }
}
