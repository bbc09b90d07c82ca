import { Type } from '@sinclair/typebox';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, loadEnvConfig } from './index.js';

/**
 * An IPv4 address and a port: how a sentinel is named. An address, not a name, so that the master a
 * sentinel names (always an address) can be checked against the sentinels' hosts; IPv4 because
 * Kamailio's ndb_redis reads `sentinel=host:port` at the first colon.
 */
const SENTINEL_ADDRESS = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}:[0-9]{1,5}$';
/** What Sentinel calls a master group; kept to characters that pass through Kamailio's modparam unharmed. */
const MASTER_NAME = '^[A-Za-z0-9._-]{1,64}$';

/** The Sentinel settings alone: the launcher reads them too, to give Kamailio its sentinels. */
export const SentinelSettingsSchema = {
  REDIS_SENTINELS: Type.Optional(
    Type.Array(Type.String({ pattern: SENTINEL_ADDRESS }), {
      minItems: 1,
      maxItems: 16,
      description:
        'comma-separated IPv4 address:port of the Redis Sentinels (e.g. 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379); set: Redis is found through them',
    }),
  ),
  REDIS_SENTINEL_MASTER: Type.Optional(
    Type.String({
      pattern: MASTER_NAME,
      description: 'the name the sentinels monitor the master under (sentinel monitor <name> …)',
    }),
  ),
};

/**
 * The Redis settings of every Redis client of Deskline (signaling, its command-line tool, the sip app),
 * spread into each one's config schema so that they are written once. docs/scaling.md explains Sentinel.
 */
export const RedisSettingsSchema = {
  REDIS_URL: Type.String({
    pattern: '^rediss?://',
    description: 'redis://host:port/db of the shared Redis; with REDIS_SENTINELS only its password and db are used',
  }),
  ...SentinelSettingsSchema,
};

/** The Sentinel settings alone, read and checked (the launcher's use: it only passes them on). */
export function loadSentinelSettings(
  env: NodeJS.ProcessEnv,
  redisUrl: string | undefined,
): Omit<RedisSettings, 'REDIS_URL'> {
  const settings = loadEnvConfig(Type.Object(SentinelSettingsSchema), env, {
    lists: ['REDIS_SENTINELS'],
    hint: 'see docs/scaling.md',
  });
  checkRedisSettings({ REDIS_URL: redisUrl ?? '', ...settings });
  return settings;
}

export interface RedisSettings {
  REDIS_URL: string;
  REDIS_SENTINELS?: string[] | undefined;
  REDIS_SENTINEL_MASTER?: string | undefined;
}

/** Checks what the schema cannot: the two Sentinel settings go together, and the ports are ports. */
export function checkRedisSettings(settings: RedisSettings): void {
  if ((settings.REDIS_SENTINELS === undefined) !== (settings.REDIS_SENTINEL_MASTER === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: set both (to find Redis through Sentinel) or neither.',
    );
  }
  for (const sentinel of settings.REDIS_SENTINELS ?? []) {
    const { port } = parseAddress(sentinel);
    if (port < 1 || port > 65535) {
      throw new ConfigError(
        `Invalid configuration:\n  REDIS_SENTINELS=${JSON.stringify((settings.REDIS_SENTINELS ?? []).join(','))} is invalid: ${sentinel} has no valid port`,
      );
    }
  }
}

export interface SentinelAddress {
  host: string;
  port: number;
}

function parseAddress(address: string): SentinelAddress {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** The sentinels of REDIS_SENTINELS, or none without it. */
export function sentinelsOf(settings: RedisSettings): SentinelAddress[] {
  return (settings.REDIS_SENTINELS ?? []).map(parseAddress);
}

/** Where Redis is, for messages and logs ("Cannot reach Redis …"): without the password. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.REDIS_SENTINELS && settings.REDIS_SENTINEL_MASTER) {
    return `through the sentinels ${settings.REDIS_SENTINELS.join(', ')} (master "${settings.REDIS_SENTINEL_MASTER}")`;
  }
  return `at ${redactUrl(settings.REDIS_URL)}`;
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

/**
 * The error a sentinel's answer gets when it names a master on a host that is not one of
 * REDIS_SENTINELS: a sentinel that is wrong, or not ours, must not steer the apps (and the Redis
 * password they send) to another machine. docs/scaling.md: Redis runs beside a sentinel.
 */
export class ForeignMasterError extends Error {
  override name = 'ForeignMasterError';
}

/** Reconnects between 100 ms and 1 s apart: a failover takes seconds, and calls wait on it. */
const retryStrategy = (times: number): number => Math.min(times * 100, 1000);

/**
 * ioredis's options for these settings. With Sentinel: the master is asked of the sentinels at every
 * (re)connect, and each connection leaves at a +switch-master; only the configured sentinels are used
 * (updateSentinels off: a sentinel cannot add others); the master they name must be on one of their
 * hosts; and a READONLY reply (the master was demoted under a live connection) reconnects and resends
 * the command to the new master. The
 * sentinels are asked without a password, as Kamailio's ndb_redis asks them: their default user may
 * only ask where the master is and hear that it changed (deploy/redis/sentinel.sh), so no sentinel
 * ever sees the Redis password.
 */
export function redisOptions(settings: RedisSettings, connectionName: string): RedisOptions {
  const common: RedisOptions = { maxRetriesPerRequest: 2, lazyConnect: true, connectionName, retryStrategy };
  const sentinels = sentinelsOf(settings);
  if (sentinels.length === 0 || !settings.REDIS_SENTINEL_MASTER) return common;
  const url = new URL(settings.REDIS_URL);
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const db = Number(url.pathname.replace(/^\//, '') || '0');
  const hosts = new Set(sentinels.map((sentinel) => sentinel.host));
  return {
    ...common,
    sentinels,
    name: settings.REDIS_SENTINEL_MASTER,
    role: 'master',
    ...(password !== undefined ? { password } : {}),
    ...(username !== undefined ? { username } : {}),
    db: Number.isInteger(db) ? db : 0,
    updateSentinels: false,
    // A planned failover (SENTINEL FAILOVER) leaves the old master up and writable for up to 10 s, until
    // the sentinels convert it: a connection told +switch-master leaves it at once.
    failoverDetector: true,
    sentinelRetryStrategy: retryStrategy,
    connectTimeout: 2000,
    sentinelCommandTimeout: 1000,
    // ioredis asks this of every address a sentinel answers with; what it throws rejects that answer.
    natMap: (key: string) => {
      const host = key.slice(0, key.lastIndexOf(':'));
      if (!hosts.has(host))
        throw new ForeignMasterError(`it named the master ${key}, which is not on a host of REDIS_SENTINELS`);
      return null;
    },
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

export interface ConnectOptions {
  connectionName: string;
  /** Where a connection problem after the start is reported. */
  onError: (message: string) => void;
  /** How long the start may wait for Redis (default 10 s). */
  timeoutMs?: number;
  /** For a command-line tool: one try, no reconnecting afterwards. */
  once?: boolean;
}

/**
 * The shared Redis connection. An unreachable Redis at startup is a clear error naming what was tried
 * (each sentinel and what it answered); once connected, ioredis reconnects by itself (through the
 * sentinels to the master of the moment) and commands fail fast while Redis is away instead of
 * piling up.
 */
export async function connectRedis(settings: RedisSettings, options: ConnectOptions): Promise<Redis> {
  const redis = new Redis(settings.REDIS_URL, {
    ...redisOptions(settings, options.connectionName),
    ...(options.once ? { retryStrategy: () => null, sentinelRetryStrategy: () => null, maxRetriesPerRequest: 1 } : {}),
  });
  const sentinelProblems = new Map<string, string>();
  let starting = true;
  redis.on('sentinelError', (err: Error) => {
    const problem = sentinelProblem(err.message, settings.REDIS_SENTINEL_MASTER);
    if (starting) sentinelProblems.set(problem.sentinel, problem.text);
    else options.onError(`sentinel ${problem.sentinel}: ${problem.text}`);
  });
  let roundFailed: (() => void) | undefined;
  let lastError = 'no answer in time';
  redis.on('error', (err: Error) => {
    if (!starting) options.onError(err.message);
    else if (/All sentinels are unreachable/.test(err.message)) roundFailed?.();
    else lastError = err.message;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string): void => reject(new Error(reason));
      roundFailed = () => fail(describeSentinelProblems(sentinelProblems));
      const timer = setTimeout(
        () => fail(sentinelProblems.size > 0 ? describeSentinelProblems(sentinelProblems) : lastError),
        options.timeoutMs ?? 10_000,
      );
      redis.connect().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          fail(sentinelProblems.size > 0 ? describeSentinelProblems(sentinelProblems) : (err as Error).message);
        },
      );
    });
  } catch (err) {
    redis.disconnect();
    throw new Error(`Cannot reach Redis ${describeRedis(settings)}: ${(err as Error).message}`);
  }
  starting = false;
  // A sentinel that failed while another answered is worth a line: the group runs with less margin.
  for (const [sentinel, text] of sentinelProblems) options.onError(`sentinel ${sentinel}: ${text}`);
  if (!options.once) keepConnected(redis, options.onError);
  return redis;
}

/** Connections closed on purpose (closeRedis, dropRedis): keepConnected leaves them closed. */
const closedOnPurpose = new WeakSet<Redis>();

/** How long after ioredis gave up on a connection it is opened again. */
const RECONNECT_AFTER_END_MS = 200;

/**
 * ioredis ends a connection for good (status "end": every command then fails with "Connection is
 * closed.") when a reconnect fails in its connector instead of retrying it: with Sentinel, a
 * +switch-master that arrives while the client is reconnecting after the master died does it (seen
 * in tests/integration/redis/two-instances-failover.test.ts). A service's connection must outlive any
 * failover, so one that ends without being closed on purpose is opened again, and said so.
 */
export function keepConnected(redis: Redis, report: (message: string) => void): void {
  redis.on('end', () => {
    if (closedOnPurpose.has(redis)) return;
    report('ioredis gave up on the Redis connection; opening it again');
    setTimeout(() => {
      if (closedOnPurpose.has(redis) || redis.status !== 'end') return;
      // A failure ends it again, and this runs again.
      redis.connect().catch(() => undefined);
    }, RECONNECT_AFTER_END_MS).unref();
  });
}

/** Drops a connection at once (no QUIT), for good: on a failed start. */
export function dropRedis(redis: Redis): void {
  closedOnPurpose.add(redis);
  redis.disconnect();
}

/**
 * Closes a connection: QUIT (replies still due arrive), then disconnect. The disconnect matters with
 * Sentinel: QUIT alone leaves ioredis's +switch-master listeners on the sentinels open, reconnecting
 * for ever, and they would keep a stopping process alive.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  closedOnPurpose.add(redis);
  await redis.quit().catch(() => undefined);
  redis.disconnect();
}

/** ioredis's words for a sentinel that could not be used, in ours. */
function sentinelProblem(message: string, master: string | undefined): { sentinel: string; text: string } {
  const failed = /^failed to connect to sentinel (\S+) because (.*)$/s.exec(message);
  // ioredis gives up on a sentinel that refuses the connection with its generic "Connection is closed.".
  if (failed)
    return {
      sentinel: failed[1] ?? '?',
      text: /^Connection is closed\.?$/.test(failed[2] ?? '')
        ? 'it does not answer (connection refused or closed)'
        : (failed[2] ?? message),
    };
  const invalid = /^connected to sentinel (\S+) successfully, but got an invalid reply: (.*)$/s.exec(message);
  if (invalid)
    return { sentinel: invalid[1] ?? '?', text: `it knows no master named "${master ?? ''}" (REDIS_SENTINEL_MASTER)` };
  return { sentinel: '?', text: message };
}

function describeSentinelProblems(problems: Map<string, string>): string {
  if (problems.size === 0) return 'no sentinel answered';
  return [...problems].map(([sentinel, text]) => `sentinel ${sentinel}: ${text}`).join('; ');
}
