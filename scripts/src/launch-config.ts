import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@deskline/env-config';
import { loadSentinelSettings } from '@deskline/env-config/redis';
import { TRUNK_REGISTRATION_VARIABLES, type TrunkRegistration } from './trunk-registration.js';

/** The repository root: scripts/dist/ is two levels below it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LaunchConfig {
  /** Where the launcher keeps data: var/ at the repo root unless DESKLINE_VAR_DIR says otherwise. */
  varDir: string;
  /** HOST and PORT of signaling's HTTP server. */
  host: string;
  port: number;
  /** Given by the user (the launcher then starts no Redis), or undefined. */
  redisUrl: string | undefined;
  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER, with REDIS_URL: Redis is found through Sentinel (docs/scaling.md). */
  redisSentinel: RedisSentinel | undefined;
  /** The port of the redis-server the launcher starts. */
  redisPort: number;
  /** Kamailio's settings (docs/call-path.md); the secret and Redis are added when it starts. */
  sip: SipEdgeConfig;
  /** rtpengine's settings (docs/call-path.md). */
  rtpengine: RtpengineConfig;
  /** The sip app's health port (GET /health on 127.0.0.1). */
  sipAppHealthPort: number;
  /**
   * Where callbacks go (OUTBOUND_TRUNK): by default 127.0.0.1:5090, where a tester's
   * `sipp -sn uas -p 5090` plays the patient's phone (README, "Try it").
   */
  outboundTrunk: string;
  /** The launcher's environment, passed on to every child. */
  env: NodeJS.ProcessEnv;
}

export interface SipEdgeConfig {
  domain: string;
  listenHost: string;
  sipPort: number;
  wsPort: number;
  appHost: string;
  appPort: number;
  trunkAddresses: string[];
  /**
   * WS_MAX_CONNECTIONS_PER_ADDRESS: open WebSocket connections Kamailio allows one address before
   * anyone authenticated (a clinic's desks behind one NAT share it; docs/security.md).
   */
  wsMaxConnectionsPerAddress: number;
  /** SIP_ADVERTISE: the public IP Kamailio writes into Via and Record-Route behind NAT. */
  advertise?: string | undefined;
  /** TRUNK_REGISTRAR and the rest: Kamailio registers the clinic's line at a carrier; none by default. */
  registration?: TrunkRegistration | undefined;
}

export interface RtpengineConfig {
  ngHost: string;
  ngPort: number;
  interface: string;
  portMin: number;
  portMax: number;
  /** RTPENGINE_DTMF_PORT: the sip app's loopback UDP port rtpengine sends keypresses to. */
  dtmfPort: number;
  /** RTPENGINE_REDIS_DB: the Redis database rtpengine keeps its calls in, or undefined for none (`off`). */
  redisDb: number | undefined;
}

/** rtpengine's database in the installation's Redis when RTPENGINE_REDIS_DB is not set. */
export const DEFAULT_RTPENGINE_REDIS_DB = 1;

/** Two tabs each for 75 desks behind one NAT address; kamailio.cfg has the same default. */
export const DEFAULT_WS_MAX_CONNECTIONS_PER_ADDRESS = 150;

/** The launcher's OUTBOUND_TRUNK when none is set: a tester's sipp UAS on this machine. */
export const DEV_OUTBOUND_TRUNK = '127.0.0.1:5090';

export class LaunchConfigError extends Error {
  override name = 'LaunchConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535) {
    throw new LaunchConfigError(`${name}=${JSON.stringify(raw)} is invalid: it must be a port number from 1 to 65535.`);
  }
  return value;
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    throw new LaunchConfigError(
      `${name}=${JSON.stringify(raw)} is invalid: it must be a whole number from 1 to ${max}.`,
    );
  }
  return value;
}

function ipAddress(env: NodeJS.ProcessEnv, name: string, fallback: string, family: 0 | 4 = 0): string {
  const value = env[name] || fallback;
  const found = net.isIP(value);
  if (found === 0 || (family !== 0 && found !== family)) {
    const kind = family === 4 ? 'an IPv4 address' : 'an IP address';
    throw new LaunchConfigError(
      `${name}=${JSON.stringify(value)} is invalid: it must be ${kind} (Kamailio and rtpengine resolve no names).`,
    );
  }
  return value;
}

/** An IP address or an IP/prefix subnet. */
function isAddressOrSubnet(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = net.isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trunkAddresses(env: NodeJS.ProcessEnv): string[] {
  const raw = env['TRUNK_ADDRESSES'] || '127.0.0.1';
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrSubnet(e));
  if (entries.length === 0 || bad.length > 0) {
    throw new LaunchConfigError(
      `TRUNK_ADDRESSES=${JSON.stringify(raw)} is invalid: it must be a comma-separated list of IP addresses ` +
        `or subnets like 192.0.2.0/24${bad.length ? ` (not ${bad.map((b) => JSON.stringify(b)).join(', ')})` : ''}.`,
    );
  }
  return entries;
}

function sipDomain(env: NodeJS.ProcessEnv): string {
  const value = env['SIP_DOMAIN'] || 'deskline.local';
  if (
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value) ||
    value.length > 253
  ) {
    throw new LaunchConfigError(
      `SIP_DOMAIN=${JSON.stringify(value)} is invalid: it must be a domain name like deskline.local.`,
    );
  }
  return value;
}

function rtpengineConfig(env: NodeJS.ProcessEnv): RtpengineConfig {
  const portMin = port(env, 'RTPENGINE_PORT_MIN', 30000);
  const portMax = port(env, 'RTPENGINE_PORT_MAX', 30999);
  if (portMin % 2 !== 0 || portMax - portMin < 3) {
    throw new LaunchConfigError(
      `RTPENGINE_PORT_MIN=${portMin} and RTPENGINE_PORT_MAX=${portMax} are invalid: ` +
        'the range must start at an even port and hold at least 4 ports (2 per call leg).',
    );
  }
  const iface = env['RTPENGINE_INTERFACE'] || '127.0.0.1';
  // "local!advertised", for media behind NAT or in a container.
  if (!iface.split('!').every((a) => net.isIP(a) !== 0) || iface.split('!').length > 2) {
    throw new LaunchConfigError(
      `RTPENGINE_INTERFACE=${JSON.stringify(iface)} is invalid: it must be an IP address, ` +
        'or "local!advertised" (two IP addresses) when the address media is sent from is not the one to put in SDP.',
    );
  }
  return {
    ngHost: ipAddress(env, 'RTPENGINE_NG_HOST', '127.0.0.1'),
    ngPort: port(env, 'RTPENGINE_NG_PORT', 22222),
    interface: iface,
    portMin,
    portMax,
    dtmfPort: port(env, 'RTPENGINE_DTMF_PORT', 22223),
    redisDb: rtpengineRedisDb(env),
  };
}

/** The apps' database is REDIS_URL's (0 unless its path names another); rtpengine's must be another one. */
function rtpengineRedisDb(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env['RTPENGINE_REDIS_DB'] || String(DEFAULT_RTPENGINE_REDIS_DB);
  if (raw === 'off') return undefined;
  const appsDb = Number(/^rediss?:\/\/[^/]*\/(\d+)/.exec(env['REDIS_URL'] ?? '')?.[1] ?? 0);
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 15 || Number(raw) === appsDb) {
    throw new LaunchConfigError(
      `RTPENGINE_REDIS_DB=${JSON.stringify(raw)} is invalid: it must be a Redis database number from 0 to 15 ` +
        `other than the apps' (${appsDb}, from REDIS_URL), or off.`,
    );
  }
  return Number(raw);
}

/** "ip", "ip:port", "[ipv6]" or "[ipv6]:port" as "ip:port" (port 5060 when none), or undefined. */
function registrarAddress(value: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(value);
  if (!m) return undefined;
  const v6 = m[1];
  const ip = v6 ?? m[2] ?? '';
  if (net.isIP(ip) !== (v6 !== undefined ? 6 : 4)) return undefined;
  const portText = m[3] ?? '5060';
  if (Number(portText) < 1 || Number(portText) > 65535) return undefined;
  return `${v6 !== undefined ? `[${ip}]` : ip}:${portText}`;
}

/**
 * The carrier registration (pbx-config/TRUNKS.md, "Registration with credentials"): undefined when
 * none of its variables is set. deploy/kamailio/start.sh applies the same rules in the container.
 * The password is never part of a message.
 */
export function readTrunkRegistration(env: NodeJS.ProcessEnv): TrunkRegistration | undefined {
  const given = TRUNK_REGISTRATION_VARIABLES.filter((name) => env[name]);
  if (given.length === 0) return undefined;
  const bad = (name: string, rule: string): LaunchConfigError => {
    const shown = name === 'TRUNK_PASSWORD' ? '' : `=${JSON.stringify(env[name] ?? '')}`;
    return new LaunchConfigError(`${name}${shown} is invalid: ${rule}`);
  };
  for (const name of ['TRUNK_REGISTRAR', 'TRUNK_USERNAME', 'TRUNK_PASSWORD'] as const) {
    if (!env[name]) {
      throw new LaunchConfigError(
        `${name} is not set, but ${given.join(', ')} ${given.length > 1 ? 'are' : 'is'}: ` +
          'a registration with the carrier needs TRUNK_REGISTRAR, TRUNK_USERNAME and TRUNK_PASSWORD (pbx-config/TRUNKS.md).',
      );
    }
  }
  const registrar = registrarAddress(env['TRUNK_REGISTRAR'] ?? '');
  if (!registrar)
    throw bad(
      'TRUNK_REGISTRAR',
      "it must be the registrar's IP address and port, e.g. 203.0.113.10:5060 ([IPv6]:port); Kamailio resolves no names.",
    );
  const username = env['TRUNK_USERNAME'] ?? '';
  if (!/^[A-Za-z0-9+._~-]{1,64}$/.test(username))
    throw bad('TRUNK_USERNAME', 'it must be 1 to 64 letters, digits or + . _ ~ -.');
  const password = env['TRUNK_PASSWORD'] ?? '';
  if (/[\n\r\0]/.test(password)) throw bad('TRUNK_PASSWORD', 'it must not contain line breaks.');
  const authUsername = env['TRUNK_AUTH_USERNAME'] || username;
  if (!/^[\x21-\x7e]{1,128}$/.test(authUsername) || /["\\]/.test(authUsername)) {
    throw bad('TRUNK_AUTH_USERNAME', 'it must be 1 to 128 printable characters without spaces, quotes or backslashes.');
  }
  const realm = env['TRUNK_REALM'] || undefined;
  if (realm !== undefined && (!/^[\x20-\x7e]{1,128}$/.test(realm) || /["\\]/.test(realm))) {
    throw bad('TRUNK_REALM', 'it must be 1 to 128 printable characters without quotes or backslashes.');
  }
  const domain = env['TRUNK_DOMAIN'] || registrar;
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(domain)) {
    throw bad(
      'TRUNK_DOMAIN',
      'it must be a domain name or an IP address, with an optional port, e.g. sip.carrier.example.',
    );
  }
  const rawExpires = env['TRUNK_REGISTER_EXPIRES'] || '300';
  const expires = Number(rawExpires);
  if (!/^\d{1,6}$/.test(rawExpires) || expires < 10 || expires > 3600) {
    throw bad('TRUNK_REGISTER_EXPIRES', 'it must be a number of seconds from 10 to 3600.');
  }
  return { registrar, domain, username, password, authUsername, ...(realm ? { realm } : {}), expires };
}

/** Kamailio takes the secret as a quoted define; keep it to characters that survive that. */
export function checkEphemeralSecret(secret: string, from: string): string {
  if (secret.length < 32 || !/^[\x21-\x7e]+$/.test(secret) || /["\\]/.test(secret)) {
    throw new LaunchConfigError(
      `${from} is invalid: it must be at least 32 printable characters, ` +
        'without spaces, quotes or backslashes (for example 64 hex digits: openssl rand -hex 32).',
    );
  }
  return secret;
}

function registrationSetting(env: NodeJS.ProcessEnv): { registration?: TrunkRegistration } {
  const registration = readTrunkRegistration(env);
  return registration ? { registration } : {};
}

export interface RedisSentinel {
  sentinels: readonly string[];
  master: string;
}

/**
 * The Sentinel settings, checked as the services check them (env-config's schema). They find a Redis
 * that runs elsewhere, so they need REDIS_URL (its password and db): the launcher's own redis-server
 * has no sentinels.
 */
function readRedisSentinel(env: NodeJS.ProcessEnv, redisUrl: string | undefined): RedisSentinel | undefined {
  let settings;
  try {
    settings = loadSentinelSettings(env, redisUrl);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new LaunchConfigError(err.message.replace(/^Invalid configuration:\n\s*/, ''));
    throw err;
  }
  if (!settings.REDIS_SENTINELS || !settings.REDIS_SENTINEL_MASTER) return undefined;
  if (redisUrl === undefined) {
    throw new LaunchConfigError(
      'REDIS_SENTINELS needs REDIS_URL too (its password and database): the launcher starts no sentinels.',
    );
  }
  return { sentinels: settings.REDIS_SENTINELS, master: settings.REDIS_SENTINEL_MASTER };
}

/** Reads the launcher's settings from the environment, or throws a LaunchConfigError naming the variable. */
export function readLaunchConfig(env: NodeJS.ProcessEnv): LaunchConfig {
  const redisUrl = env['REDIS_URL'] || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new LaunchConfigError(
      'REDIS_URL is invalid: it must look like redis://host:port (or leave it unset to let the launcher start Redis).',
    );
  }
  const redisSentinel = readRedisSentinel(env, redisUrl);
  // Checked here so that a bad one stops the start before anything runs; it is read where it is used.
  if (env['SIP_EPHEMERAL_SECRET']) checkEphemeralSecret(env['SIP_EPHEMERAL_SECRET'], 'SIP_EPHEMERAL_SECRET');
  return {
    varDir: path.resolve(env['DESKLINE_VAR_DIR'] || path.join(REPO_ROOT, 'var')),
    host: env['HOST'] || '127.0.0.1',
    port: port(env, 'PORT', 8080),
    redisUrl,
    redisSentinel,
    redisPort: port(env, 'REDIS_PORT', 6379),
    sip: {
      domain: sipDomain(env),
      listenHost: ipAddress(env, 'SIP_LISTEN_HOST', '127.0.0.1'),
      sipPort: port(env, 'SIP_PORT', 5060),
      wsPort: port(env, 'SIP_WS_PORT', 5066),
      // Kamailio writes it into a SIP URI as it is, which an IPv6 address cannot be without brackets.
      appHost: ipAddress(env, 'SIP_APP_HOST', '127.0.0.1', 4),
      appPort: port(env, 'SIP_APP_PORT', 5070),
      trunkAddresses: trunkAddresses(env),
      wsMaxConnectionsPerAddress: count(
        env,
        'WS_MAX_CONNECTIONS_PER_ADDRESS',
        DEFAULT_WS_MAX_CONNECTIONS_PER_ADDRESS,
        4000,
      ),
      ...(env['SIP_ADVERTISE'] ? { advertise: ipAddress(env, 'SIP_ADVERTISE', '') } : {}),
      ...registrationSetting(env),
    },
    rtpengine: rtpengineConfig(env),
    sipAppHealthPort: port(env, 'SIP_APP_HEALTH_PORT', 5071),
    outboundTrunk: env['OUTBOUND_TRUNK'] || DEV_OUTBOUND_TRUNK,
    env,
  };
}

/** The address a client on this machine uses to reach a server listening on `host`. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** http://host:port, with brackets around an IPv6 address. */
export function httpUrl(host: string, port: number): string {
  const h = connectHost(host);
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
