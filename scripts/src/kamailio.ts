/**
 * How Deskline runs Kamailio: its command line and the environment variables that carry the settings
 * of docs/call-path.md, shared by the launcher and the tests' harness (tests/helpers/kamailio.ts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, connectHost, type RedisSentinel } from './launch-config.js';
import { ManagedProcess, findExecutable, waitUntilHealthy } from './managed-process.js';
import { sipOptionsAnswered } from './sip-options.js';
import {
  REGISTRATION_DB_DIR,
  TRUNK_REGISTRATION_VARIABLES,
  writeRegistrationDb,
  type TrunkRegistration,
} from './trunk-registration.js';

export const KAMAILIO_CFG = path.join(REPO_ROOT, 'pbx-config/kamailio/kamailio.cfg');
export const KAMAILIO_INSTALL_HINT =
  'apt-get install kamailio kamailio-websocket-modules kamailio-redis-modules kamailio-autheph-modules';

export interface KamailioSettings {
  /** SIP_DOMAIN: SIP domain and digest realm. */
  domain: string;
  /** SIP_LISTEN_HOST: an IP address. */
  listenHost: string;
  /** SIP_PORT: UDP and TCP. */
  sipPort: number;
  /** SIP_WS_PORT: SIP over WebSocket. */
  wsPort: number;
  /** SIP_APP_HOST, SIP_APP_PORT: where the sip app's one TCP connection comes from. */
  appHost: string;
  appPort: number;
  /** TRUNK_ADDRESSES: IP addresses or CIDR subnets allowed to send patient calls. */
  trunkAddresses: readonly string[];
  /** SIP_EPHEMERAL_SECRET. */
  ephemeralSecret: string;
  /** REDIS_URL. */
  redisUrl: string;
  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER: ndb_redis asks them for the master. */
  redisSentinel?: RedisSentinel | undefined;
  /** How long a browser's registration may last, in seconds (the config's default: 120). */
  wsMaxExpires?: number;
  /** The shortest registration granted, in seconds (the config's default: 30). */
  minExpires?: number;
  /** UDP and TCP worker processes each (the config's default: 4). */
  workers?: number;
  /** WS_MAX_CONNECTIONS_PER_ADDRESS: open WebSocket connections one address may have (the config's default: 150). */
  wsMaxConnectionsPerAddress?: number;
  /** SIP_ADVERTISE: the public IP written into Via and Record-Route behind NAT; none by default. */
  advertise?: string | undefined;
  /** The carrier registration (TRUNK_REGISTRAR …); none by default. Its table goes into the run dir. */
  registration?: TrunkRegistration | undefined;
  /** TRUNK_REGISTER_INTERVAL: how often uac checks the registration, in seconds (the config's default: 30). */
  registerInterval?: number;
  /** OUTBOUND_TRUNK: address:port, the only destination of callbacks; none: callbacks are refused. */
  outboundTrunk?: string | undefined;
  /**
   * SIP_APP_ADDRESSES: host:port of each sip app instance, when there are several (docs/scaling.md);
   * none: the one at appHost:appPort.
   */
  appAddresses?: readonly string[] | undefined;
}

/**
 * ndb_redis's server spec for a redis:// URL: host, port, database and password. With sentinels, the
 * master's address comes from the first of them instead (sentinel_group, sentinel_master=1,
 * sentinel=): ndb_redis asks it at start and at every reconnect, without a password, and sends the
 * password to the master only. Only the first: Debian 12's Kamailio 5.6.3 reads the second and later
 * sentinel= addresses wrongly and lets the last one asked override the answer (fixed in 5.6.4), so
 * REDIS_SENTINELS lists this server's own sentinel first (docs/scaling.md).
 */
export function ndbRedisServer(redisUrl: string, sentinel?: RedisSentinel): string {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:') throw new Error(`Kamailio can reach Redis only over redis:// (not ${url.protocol}//)`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const parts = sentinel
    ? [
        'name=deskline',
        `sentinel_group=${sentinel.master}`,
        'sentinel_master=1',
        `sentinel=${sentinel.sentinels[0] ?? ''}`,
      ]
    : [`name=deskline`, `addr=${host}`, `port=${url.port || '6379'}`];
  const db = url.pathname.replace(/^\//, '');
  if (db) parts.push(`db=${db}`);
  if (url.password) parts.push(`pass=${decodeURIComponent(url.password)}`);
  const spec = parts.join(';');
  if (/["\\\n]/.test(spec))
    throw new Error('REDIS_URL must not contain quotes, backslashes or line breaks for Kamailio');
  return spec;
}

/** Kamailio's preprocessor quotes a string variable (#!trydefenvs) as it is: it cannot hold a quote. */
function stringValue(name: string, value: string): string {
  if (/["\\\n\r]/.test(value)) throw new Error(`${name} must not contain quotes, backslashes or line breaks`);
  return value;
}

/**
 * The environment variables kamailio.cfg reads (#!trydefenv and #!trydefenvs at its top): every
 * setting, under the names of docs/call-path.md. Docker Compose sets the same ones. With a carrier
 * registration, TRUNK_REGISTRATION_DB names the db_text directory writeRegistrationDb() makes in
 * `runDir` (the container's start.sh sets it the same way).
 */
export function kamailioEnv(settings: KamailioSettings, runDir?: string): Record<string, string> {
  if (settings.registration && runDir === undefined)
    throw new Error("a carrier registration needs Kamailio's run dir for its table");
  return {
    SIP_DOMAIN: stringValue('SIP_DOMAIN', settings.domain),
    // A bare IP in listen=…; IPv6 needs its brackets there.
    SIP_LISTEN_HOST: settings.listenHost.includes(':') ? `[${settings.listenHost}]` : settings.listenHost,
    SIP_PORT: String(settings.sipPort),
    SIP_WS_PORT: String(settings.wsPort),
    SIP_APP_HOST: stringValue('SIP_APP_HOST', settings.appHost),
    SIP_APP_PORT: String(settings.appPort),
    TRUNK_ADDRESSES: stringValue('TRUNK_ADDRESSES', settings.trunkAddresses.join(',')),
    SIP_EPHEMERAL_SECRET: stringValue('SIP_EPHEMERAL_SECRET', settings.ephemeralSecret),
    REDIS_SERVER: ndbRedisServer(settings.redisUrl, settings.redisSentinel),
    ...(settings.wsMaxExpires !== undefined ? { WS_MAX_EXPIRES: String(settings.wsMaxExpires) } : {}),
    ...(settings.minExpires !== undefined ? { MIN_EXPIRES: String(settings.minExpires) } : {}),
    ...(settings.workers !== undefined ? { SIP_WORKERS: String(settings.workers) } : {}),
    ...(settings.wsMaxConnectionsPerAddress !== undefined
      ? { WS_MAX_CONNECTIONS_PER_ADDRESS: String(settings.wsMaxConnectionsPerAddress) }
      : {}),
    ...(settings.advertise
      ? { SIP_ADVERTISE: settings.advertise.includes(':') ? `[${settings.advertise}]` : settings.advertise }
      : {}),
    ...(settings.registration && runDir !== undefined ? { TRUNK_REGISTRATION_DB: registrationDbUrl(runDir) } : {}),
    ...(settings.registerInterval !== undefined ? { TRUNK_REGISTER_INTERVAL: String(settings.registerInterval) } : {}),
    ...(settings.outboundTrunk ? { OUTBOUND_TRUNK: stringValue('OUTBOUND_TRUNK', settings.outboundTrunk) } : {}),
    ...(settings.appAddresses?.length
      ? { SIP_APP_ADDRESSES: stringValue('SIP_APP_ADDRESSES', settings.appAddresses.join(',')) }
      : {}),
  };
}

/** db_text's URL of the registration table's directory in `runDir` (an absolute path: text:///…). */
export function registrationDbUrl(runDir: string): string {
  return stringValue('the run dir', `text://${path.resolve(runDir, REGISTRATION_DB_DIR)}`);
}

/**
 * Prepares Kamailio's run dir: creates it, and writes the carrier registration's table into it (or
 * removes one left from an earlier start without). Call it before every start.
 */
export function prepareKamailioRunDir(runDir: string, settings: Pick<KamailioSettings, 'registration'>): void {
  mkdirSync(runDir, { recursive: true });
  writeRegistrationDb(runDir, settings.registration);
}

/**
 * Kamailio's environment: `base` (the launcher's own) with the settings over it. A variable kamailio.cfg
 * tests with #!ifdef must be absent rather than empty (empty would be "defined" as nothing), so an
 * empty SIP_ADVERTISE (or TRUNK_REGISTER_INTERVAL) inherited from `base` is dropped, and so is a
 * TRUNK_REGISTRATION_DB that these settings did not make. The registration's own variables (TRUNK_PASSWORD among them) are in its
 * table, not in Kamailio's environment.
 */
export function kamailioProcessEnv(
  base: NodeJS.ProcessEnv,
  settings: KamailioSettings,
  runDir?: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // OUTBOUND_TRUNK too: the settings' (the launcher's) is the one, and none means no callbacks.
  for (const name of [...TRUNK_REGISTRATION_VARIABLES, 'TRUNK_REGISTRATION_DB', 'OUTBOUND_TRUNK', 'SIP_APP_ADDRESSES'])
    delete env[name];
  Object.assign(env, kamailioEnv(settings, runDir));
  for (const name of ['SIP_ADVERTISE', 'TRUNK_REGISTER_INTERVAL']) if (!env[name]) delete env[name];
  return env;
}

/**
 * `kamailio` arguments: our config, in the foreground (-DD), logging to stderr (-E), its runtime
 * files in `runDir` (-Y) rather than /var/run. The settings go in its environment (kamailioEnv).
 */
export function kamailioArgs(runDir: string): string[] {
  return ['-f', KAMAILIO_CFG, '-DD', '-E', '-Y', runDir];
}

/** Kamailio is up when it answers an OPTIONS over UDP with 200. */
export function kamailioHealthy(settings: Pick<KamailioSettings, 'listenHost' | 'sipPort'>): Promise<boolean> {
  return sipOptionsAnswered(connectHost(settings.listenHost), settings.sipPort);
}

export interface StartKamailioOptions extends KamailioSettings {
  runDir: string;
  bin?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  startTimeoutMs?: number;
}

/** Starts a Kamailio we own and resolves once it answers OPTIONS. */
export async function startKamailio(options: StartKamailioOptions): Promise<ManagedProcess> {
  prepareKamailioRunDir(options.runDir, options);
  const proc = ManagedProcess.start({
    name: 'kamailio',
    command: options.bin ?? kamailioCommand(),
    installHint: KAMAILIO_INSTALL_HINT,
    args: kamailioArgs(options.runDir),
    env: kamailioProcessEnv(process.env, options, options.runDir),
    onLine: options.onLine,
  });
  try {
    await waitUntilHealthy(proc, () => kamailioHealthy(options), options.startTimeoutMs ?? 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/**
 * Debian installs kamailio in /usr/sbin, which is not in every user's PATH: use it from there when
 * PATH has none, so that running as an ordinary user works too.
 */
export function kamailioCommand(envPath = process.env['PATH']): string {
  if (findExecutable('kamailio', envPath)) return 'kamailio';
  return findExecutable('/usr/sbin/kamailio') ? '/usr/sbin/kamailio' : 'kamailio';
}
