import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The shared Redis connection. An unreachable Redis at startup is a clear error; once connected,
 * ioredis reconnects by itself and commands fail fast while Redis is away instead of piling up.
 */
export async function connectRedis(url: string, log: Logger, connectionName = 'sip'): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true, connectionName });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection problem'));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return redis;
}

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
