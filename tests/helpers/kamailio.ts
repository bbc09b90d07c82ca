/**
 * A real Kamailio with Deskline's config (pbx-config/kamailio/kamailio.cfg) on free ports, for
 * integration tests of the SIP edge and of the sip app behind it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type SipCredentials } from '@deskline/protocol';
import { RedisKeys, browserSipUser } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { redisOptions } from '@deskline/env-config/redis';
import { startKamailio } from '@deskline/scripts/kamailio';
import type { RedisSentinel } from '@deskline/scripts/launch-config';
import type { TrunkRegistration } from '@deskline/scripts/trunk-registration';
import type { ExitStatus, ManagedProcess } from '@deskline/scripts/managed-process';
import { Recorder } from './recorder.js';
import { killOnExit } from './kill-on-exit.js';
import { ephemeralCredentials, type EphemeralCredentials } from './sip-register.js';

export interface TestKamailioOptions {
  redisUrl: string;
  /** Redis through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): ndb_redis asks the sentinels for the master. */
  redisSentinel?: RedisSentinel;
  /** Default ['127.0.0.1']. */
  trunkAddresses?: string[];
  /** Default a fresh random secret. */
  secret?: string;
  /** Default 'deskline.local'. */
  domain?: string;
  /** Where the sip app will connect from. Default 127.0.0.1 and a free port. */
  appHost?: string;
  appPort?: number;
  /** Sip app instances (SIP_APP_ADDRESSES): the first connects from appPort, each other from a free port of its own. Default 1. */
  appInstances?: number;
  wsMaxExpires?: number;
  minExpires?: number;
  /** WS_MAX_CONNECTIONS_PER_ADDRESS; the config's default (150) unless given. */
  wsMaxConnectionsPerAddress?: number;
  /** SIP_ADVERTISE: the public address behind NAT. */
  advertise?: string;
  /** A carrier registration (TRUNK_REGISTRAR …): its table is written into the run dir, as by the launcher. */
  registration?: TrunkRegistration;
  /** TRUNK_REGISTER_INTERVAL, in seconds. */
  registerInterval?: number;
  /** OUTBOUND_TRUNK (address:port): where the sip app's callbacks may go; none by default. */
  outboundTrunk?: string;
  /** Echo Kamailio's log lines to stderr as they come (for debugging a test); DESKLINE_TEST_LOGS=1 does it for all. */
  echo?: boolean;
}

export interface TestKamailio {
  host: string;
  /** SIP over UDP and TCP. */
  sipPort: number;
  /** SIP over WebSocket, and its URL. */
  wsPort: number;
  wsUrl: string;
  domain: string;
  secret: string;
  appHost: string;
  appPort: number;
  /** The port of each sip app instance (appPort first). */
  appPorts: number[];
  trunkAddresses: string[];
  /** Kamailio's run dir (-Y). */
  runDir: string;
  /** The Kamailio now running (a new one after `restart`). */
  readonly process: ManagedProcess;
  /** Every line it logged. */
  readonly log: string[];
  /** Resolves with the first log line (from the start) matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Milliseconds from spawn until it answered OPTIONS. */
  startupMs: number;
  /**
   * Browser credentials for `sipUser` as signaling issues them to a workstation's holder: computed
   * with the secret and recorded as valid in Redis (sip-auth:<sipUser>), which Kamailio checks.
   * Default expiry: an hour from now (epoch seconds).
   */
  browserCredentials(sipUser: string, expiresAt?: number): Promise<EphemeralCredentials>;
  /**
   * SIGKILL, as a crash or an OOM kill (or `docker compose restart`, which forgets as much), then a
   * new Kamailio on the same ports, with the same settings; resolves once it answers OPTIONS. Its
   * memory (dialogs, registrations) is gone. `firstLine`: the index in `log` of its first line.
   */
  restart(): Promise<{ downMs: number; firstLine: number }>;
  stop(): Promise<ExitStatus>;
}

/** The SIP credentials signaling would give the holder of browser workstation `workstationId`. */
export async function workstationCredentials(kamailio: TestKamailio, workstationId: string): Promise<SipCredentials> {
  const sipUser = browserSipUser(workstationId);
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const credentials = await kamailio.browserCredentials(sipUser, expiresAt);
  return {
    wsUrl: kamailio.wsUrl,
    uri: `sip:${sipUser}@${kamailio.domain}`,
    ...credentials,
    expiresAt: expiresAt * 1000,
  };
}

/**
 * The signature kamailio.cfg (ROUTE_SIGNATURE) puts in the Record-Route of each dialog it sets up
 * (dls, with dlt = `time`): for attacker tests that need one made with the secret (an expired one).
 */
export function routeSignature(secret: string, callId: string, tag: string, time: number): string {
  const inner = createHash('sha256').update(`${secret} deskline-route ${callId} ${tag} ${time}`).digest('hex');
  return createHash('sha256').update(`${secret} ${inner}`).digest('hex').slice(0, 32);
}

export async function startTestKamailio(options: TestKamailioOptions): Promise<TestKamailio> {
  const host = '127.0.0.1';
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'deskline-kamailio-'));
  const sipPort = await freePort(host, ['tcp', 'udp']);
  let wsPort = await freePort(host);
  while (wsPort === sipPort) wsPort = await freePort(host);
  const appHost = options.appHost ?? host;
  let appPort = options.appPort ?? (await freePort(host));
  while (options.appPort === undefined && (appPort === sipPort || appPort === wsPort)) appPort = await freePort(host);
  const appPorts = [appPort];
  while (appPorts.length < (options.appInstances ?? 1)) {
    const port = await freePort(host);
    if (![sipPort, wsPort, ...appPorts].includes(port)) appPorts.push(port);
  }
  const secret = options.secret ?? randomBytes(32).toString('hex');
  const domain = options.domain ?? 'deskline.local';
  const trunkAddresses = options.trunkAddresses ?? ['127.0.0.1'];

  const log = new Recorder<string>('Kamailio', (lines) => `its last lines:\n  ${lines.slice(-15).join('\n  ')}`);
  const started = Date.now();
  let proc: ManagedProcess;
  const start = (): Promise<ManagedProcess> =>
    startKamailio({
      domain,
      listenHost: host,
      sipPort,
      wsPort,
      appHost,
      appPort,
      trunkAddresses,
      ephemeralSecret: secret,
      redisUrl: options.redisUrl,
      redisSentinel: options.redisSentinel,
      wsMaxExpires: options.wsMaxExpires,
      minExpires: options.minExpires,
      ...(options.wsMaxConnectionsPerAddress !== undefined
        ? { wsMaxConnectionsPerAddress: options.wsMaxConnectionsPerAddress }
        : {}),
      advertise: options.advertise,
      registration: options.registration,
      ...(options.registerInterval !== undefined ? { registerInterval: options.registerInterval } : {}),
      outboundTrunk: options.outboundTrunk,
      ...(appPorts.length > 1 ? { appAddresses: appPorts.map((port) => `${appHost}:${port}`) } : {}),
      workers: 2,
      runDir,
      onLine: (line) => {
        log.add(line);
        if (options.echo ?? process.env['DESKLINE_TEST_LOGS'] === '1') process.stderr.write(`kamailio | ${line}\n`);
      },
    });
  try {
    proc = await start();
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  killOnExit(proc);
  const startupMs = Date.now() - started;

  return {
    host,
    sipPort,
    wsPort,
    wsUrl: `ws://${host}:${wsPort}`,
    domain,
    secret,
    appHost,
    appPort,
    appPorts,
    trunkAddresses,
    runDir,
    get process() {
      return proc;
    },
    log: log.items,
    startupMs,
    waitForLog(pattern, timeoutMs = 5000) {
      return log.waitFor(`to log ${pattern}`, (line) => pattern.test(line), 0, timeoutMs);
    },
    async browserCredentials(sipUser, expiresAt = Math.floor(Date.now() / 1000) + 3600) {
      const credentials = ephemeralCredentials(secret, sipUser, expiresAt);
      const redis = new Redis(
        options.redisUrl,
        redisOptions(
          {
            REDIS_URL: options.redisUrl,
            REDIS_SENTINELS: options.redisSentinel?.sentinels.slice(),
            REDIS_SENTINEL_MASTER: options.redisSentinel?.master,
          },
          'test-kamailio',
        ),
      );
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        await redis
          .multi()
          .sadd(RedisKeys.sipAuth(sipUser), credentials.username)
          .expire(RedisKeys.sipAuth(sipUser), 7200)
          .exec();
      } finally {
        redis.disconnect();
      }
      return credentials;
    },
    async restart() {
      proc.killNow();
      await proc.exited;
      const from = log.mark();
      const killedAt = Date.now();
      proc = await start();
      killOnExit(proc);
      return { downMs: Date.now() - killedAt, firstLine: from };
    },
    async stop() {
      const status = await proc.stop();
      rmSync(runDir, { recursive: true, force: true });
      return status;
    },
  };
}
