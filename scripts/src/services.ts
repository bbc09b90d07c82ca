import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, httpUrl, type LaunchConfig } from './launch-config.js';
import { REDIS_INSTALL_HINT, pingRedis, redisServerArgs } from './redis-server.js';
import type { ServiceDefinition } from './supervisor.js';

const REDIS_HOST = '127.0.0.1';

/** The Redis every Node service uses: the user's REDIS_URL, or the redis-server the launcher starts. */
export function redisUrl(config: LaunchConfig): string {
  return config.redisUrl ?? `redis://${REDIS_HOST}:${config.redisPort}`;
}

function redis(config: LaunchConfig): ServiceDefinition {
  const dir = path.join(config.varDir, 'redis');
  return {
    name: 'redis',
    ports: [{ host: REDIS_HOST, port: config.redisPort, envName: 'REDIS_PORT' }],
    prepare: () => {
      mkdirSync(dir, { recursive: true });
      return {
        command: 'redis-server',
        args: redisServerArgs({ host: REDIS_HOST, port: config.redisPort, dir, appendOnly: true }),
        env: config.env,
        installHint: REDIS_INSTALL_HINT,
      };
    },
    healthy: () => pingRedis(REDIS_HOST, config.redisPort),
    startTimeoutMs: 10_000,
  };
}

function signaling(config: LaunchConfig): ServiceDefinition {
  const healthUrl = `${httpUrl(config.host, config.port)}/api/health`;
  return {
    name: 'signaling',
    ports: [{ host: config.host, port: config.port, envName: 'PORT' }],
    prepare: () => ({
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'signaling/dist/server.js')],
      cwd: REPO_ROOT,
      env: { ...config.env, HOST: config.host, PORT: String(config.port), REDIS_URL: redisUrl(config) },
    }),
    healthy: async () => {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      const body: unknown = await res.json().catch(() => undefined);
      return res.status === 200 && (body as { status?: unknown } | undefined)?.status === 'ok';
    },
    startTimeoutMs: 30_000,
  };
}

/**
 * What `npm start` runs, in start order. Kamailio, rtpengine and the sip app join this list as
 * further entries.
 */
export function serviceDefinitions(config: LaunchConfig): ServiceDefinition[] {
  return [...(config.redisUrl ? [] : [redis(config)]), signaling(config)];
}
