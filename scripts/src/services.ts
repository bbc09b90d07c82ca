import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  KAMAILIO_INSTALL_HINT,
  kamailioArgs,
  kamailioCommand,
  kamailioHealthy,
  kamailioProcessEnv,
  prepareKamailioRunDir,
} from './kamailio.js';
import { REPO_ROOT, connectHost, httpUrl, type LaunchConfig } from './launch-config.js';
import { REDIS_INSTALL_HINT, pingRedis, redisServerArgs, writeRedisConfig } from './redis-server.js';
import {
  RTPENGINE_CONF,
  RTPENGINE_INSTALL_HINT,
  rtpengineArgs,
  rtpengineCommand,
  rtpengineHealthy,
  writeRtpengineConfig,
  type RtpengineKeyspace,
} from './rtpengine.js';
import { redisPassword, sipEphemeralSecret } from './secrets.js';
import type { ServiceDefinition } from './supervisor.js';

const REDIS_HOST = '127.0.0.1';

/**
 * The Redis every client uses: the user's REDIS_URL, or the redis-server the launcher starts, with its
 * password (REDIS_PASSWORD or var/secrets/redis-password). It goes to the clients in their
 * environment, never on a command line.
 */
export function redisUrl(config: LaunchConfig): string {
  if (config.redisUrl) return config.redisUrl;
  return `redis://:${redisPassword(config.env, config.varDir)}@${REDIS_HOST}:${config.redisPort}`;
}

/** The config file that carries the launcher's Redis password to redis-server. */
export function redisConfigFile(config: LaunchConfig): string {
  return path.join(config.varDir, 'run', 'redis', 'redis.conf');
}

function redis(config: LaunchConfig): ServiceDefinition {
  const dir = path.join(config.varDir, 'redis');
  const configFile = redisConfigFile(config);
  return {
    name: 'redis',
    ports: [{ host: REDIS_HOST, port: config.redisPort, envName: 'REDIS_PORT' }],
    prepare: () => {
      mkdirSync(dir, { recursive: true });
      // Rewritten at every start, so a changed REDIS_PASSWORD takes effect.
      writeRedisConfig(configFile, redisPassword(config.env, config.varDir));
      return {
        command: 'redis-server',
        // A config file must be redis-server's first argument.
        args: [configFile, ...redisServerArgs({ host: REDIS_HOST, port: config.redisPort, dir, appendOnly: true })],
        env: withoutRedisPassword(config.env),
        installHint: REDIS_INSTALL_HINT,
      };
    },
    healthy: () => pingRedis(REDIS_HOST, config.redisPort, 500, redisPassword(config.env, config.varDir)),
    startTimeoutMs: 10_000,
  };
}

/** redis-server reads its password from its config file; it has no use for it in its environment. */
function withoutRedisPassword(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  delete rest['REDIS_PASSWORD'];
  return rest;
}

/**
 * Where rtpengine keeps its calls (RTPENGINE_REDIS_DB): in the launcher's own Redis, or in the one
 * REDIS_URL names when that is an IP address without Sentinel. rtpengine 10.5 connects to one fixed
 * IP:PORT and follows no Sentinel: behind Sentinel it has no keyspace here (docs/operations.md, "What
 * a restart does to calls").
 */
function rtpengineKeyspace(config: LaunchConfig): RtpengineKeyspace | undefined {
  const db = config.rtpengine.redisDb;
  if (db === undefined || config.redisSentinel) return undefined;
  if (config.redisUrl === undefined)
    return { host: REDIS_HOST, port: config.redisPort, db, password: redisPassword(config.env, config.varDir) };
  const url = new URL(config.redisUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol !== 'redis:' || net.isIP(host) === 0) return undefined;
  return { host, port: Number(url.port || 6379), db, password: decodeURIComponent(url.password) || undefined };
}

function rtpengine(config: LaunchConfig): ServiceDefinition {
  const settings = config.rtpengine;
  return {
    name: 'rtpengine',
    ports: [{ host: settings.ngHost, port: settings.ngPort, envName: 'RTPENGINE_NG_PORT', protocol: 'udp' }],
    prepare: () => {
      const keyspace = rtpengineKeyspace(config);
      const configFile = keyspace
        ? writeRtpengineConfig(path.join(config.varDir, 'run', 'rtpengine'), keyspace)
        : RTPENGINE_CONF;
      return {
        ...rtpengineCommand(rtpengineArgs(settings, configFile), 'rtpengine', config.env['PATH']),
        env: config.env,
        installHint: RTPENGINE_INSTALL_HINT,
      };
    },
    healthy: () => rtpengineHealthy(settings),
    startTimeoutMs: 10_000,
  };
}

function kamailio(config: LaunchConfig, secret: () => string): ServiceDefinition {
  const settings = config.sip;
  const runDir = path.join(config.varDir, 'run', 'kamailio');
  return {
    name: 'kamailio',
    ports: [
      { host: settings.listenHost, port: settings.sipPort, envName: 'SIP_PORT', protocol: 'udp' },
      { host: settings.listenHost, port: settings.sipPort, envName: 'SIP_PORT' },
      { host: settings.listenHost, port: settings.wsPort, envName: 'SIP_WS_PORT' },
    ],
    prepare: () => {
      // With a carrier registration, its table (and password) is written here for Kamailio's db_text.
      prepareKamailioRunDir(runDir, settings);
      return {
        command: kamailioCommand(config.env['PATH']),
        args: kamailioArgs(runDir),
        env: kamailioProcessEnv(
          config.env,
          {
            ...settings,
            ephemeralSecret: secret(),
            redisUrl: redisUrl(config),
            redisSentinel: config.redisSentinel,
            outboundTrunk: config.outboundTrunk,
          },
          runDir,
        ),
        installHint: KAMAILIO_INSTALL_HINT,
      };
    },
    healthy: () => kamailioHealthy(settings),
    startTimeoutMs: 10_000,
  };
}

/** The B2BUA: connects to Kamailio from SIP_APP_PORT, and is healthy while that connection stands. */
function sipApp(config: LaunchConfig): ServiceDefinition {
  const { sip, rtpengine: media } = config;
  const healthUrl = `http://127.0.0.1:${config.sipAppHealthPort}/health`;
  return {
    name: 'sip',
    ports: [
      { host: sip.appHost, port: sip.appPort, envName: 'SIP_APP_PORT' },
      { host: '127.0.0.1', port: config.sipAppHealthPort, envName: 'SIP_APP_HEALTH_PORT' },
    ],
    prepare: () => ({
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'sip/dist/main.js')],
      cwd: REPO_ROOT,
      env: {
        ...config.env,
        REDIS_URL: redisUrl(config),
        SIP_DOMAIN: sip.domain,
        KAMAILIO_HOST: connectHost(sip.listenHost),
        SIP_PORT: String(sip.sipPort),
        SIP_APP_HOST: sip.appHost,
        SIP_APP_PORT: String(sip.appPort),
        SIP_APP_HEALTH_PORT: String(config.sipAppHealthPort),
        RTPENGINE_NG_HOST: connectHost(media.ngHost),
        RTPENGINE_NG_PORT: String(media.ngPort),
        RTPENGINE_DTMF_PORT: String(media.dtmfPort),
        OUTBOUND_TRUNK: config.outboundTrunk,
        PROMPTS_DIR: promptsDir(config),
        RECORDINGS_DIR: recordingsDir(config),
        // The launcher stops rtpengine with the sip app: no next instance could carry the calls on.
        SIP_END_CALLS_ON_STOP: 'true',
      },
    }),
    healthy: async () => (await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) })).status === 200,
    startTimeoutMs: 15_000,
  };
}

/** The managers' prompt uploads: signaling writes them, the sip app and rtpengine read them (docs/call-plan.md, "Prompts"). */
function promptsDir(config: LaunchConfig): string {
  return config.env['PROMPTS_DIR'] || path.join(config.varDir, 'prompts');
}

function signaling(config: LaunchConfig, secret: () => string): ServiceDefinition {
  const healthUrl = `${httpUrl(config.host, config.port)}/api/health`;
  return {
    name: 'signaling',
    ports: [{ host: config.host, port: config.port, envName: 'PORT' }],
    prepare: () => ({
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'signaling/dist/server.js')],
      cwd: REPO_ROOT,
      env: {
        ...config.env,
        HOST: config.host,
        PORT: String(config.port),
        REDIS_URL: redisUrl(config),
        SIP_EPHEMERAL_SECRET: secret(),
        SIP_DOMAIN: config.sip.domain,
        SIP_WS_PORT: String(config.sip.wsPort),
        PROMPTS_DIR: promptsDir(config),
        RECORDINGS_DIR: recordingsDir(config),
      },
    }),
    healthy: async () => {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      const body: unknown = await res.json().catch(() => undefined);
      return res.status === 200 && (body as { status?: unknown } | undefined)?.status === 'ok';
    },
    startTimeoutMs: 30_000,
  };
}

/** Voicemail messages' audio (and call recordings): RECORDINGS_DIR, else var/recordings. */
function recordingsDir(config: LaunchConfig): string {
  return config.env['RECORDINGS_DIR'] || path.join(config.varDir, 'recordings');
}

/**
 * What `npm start` runs, in start order.
 */
export function serviceDefinitions(config: LaunchConfig): ServiceDefinition[] {
  // Read (or created) once, when the first service that needs it starts; Kamailio checks browsers'
  // credentials with it and signaling issues them with it, so both must get the same value.
  let secret: string | undefined;
  const ephemeralSecret = (): string => (secret ??= sipEphemeralSecret(config.env, config.varDir));
  return [
    ...(config.redisUrl ? [] : [redis(config)]),
    rtpengine(config),
    kamailio(config, ephemeralSecret),
    sipApp(config),
    signaling(config, ephemeralSecret),
  ];
}
