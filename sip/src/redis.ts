import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connectRedis as connect, type RedisSettings } from '@deskline/env-config/redis';

/**
 * The shared Redis connection: directly, or through Sentinel (REDIS_SENTINELS). An unreachable Redis
 * at startup is a clear error; once connected, ioredis reconnects by itself (to the master of the
 * moment) and commands fail fast while Redis is away instead of piling up.
 */
export function connectRedis(settings: RedisSettings, log: Logger, connectionName = 'sip'): Promise<Redis> {
  return connect(settings, {
    connectionName,
    onError: (message) => log.warn({ err: message }, 'redis connection problem'),
  });
}
