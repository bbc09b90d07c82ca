import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadEnvConfig } from '@deskline/env-config';
import { RedisSettingsSchema, checkRedisSettings } from '@deskline/env-config/redis';
import { DEFAULT_HISTORY_RETENTION_DAYS } from '@deskline/store';
import { DEFAULT_CLINIC_COUNTRY, isClinicCountry } from '@deskline/outbound-policy';
import { isTimeZone } from './services/clinic-day.js';

const defaultWebRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');
const defaultVarDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../var');
const defaultMediaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../pbx-config/media');

/**
 * Every setting of signaling and its command-line tool. Read once at startup from the environment;
 * no other module reads process.env.
 */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'address the HTTP server listens on' }),
  PORT: Type.Integer({ default: 8080, minimum: 1, maximum: 65535, description: 'HTTP port' }),
  ...RedisSettingsSchema,
  DESKLINE_VAR_DIR: Type.String({
    default: defaultVarDir,
    minLength: 1,
    description:
      "the launcher's data folder: the command-line tool takes the launcher's Redis password from its secrets/redis-password when REDIS_URL has none",
  }),
  MEDIA_DIR: Type.String({
    default: defaultMediaDir,
    minLength: 1,
    description:
      'folder of the built-in media (prompts/<lang>/<name>.wav): managers preview the built-in prompts from it',
  }),
  PROMPTS_DIR: Type.String({
    default: path.join(defaultVarDir, 'prompts'),
    minLength: 1,
    description:
      "writable folder where managers' uploaded prompts are kept (<lang>/<name>.wav); the sip app and rtpengine read it at the same path",
  }),
  RECORDINGS_DIR: Type.String({
    default: path.join(defaultVarDir, 'recordings'),
    minLength: 1,
    description:
      "folder of voicemail messages' audio (<id>.mp3), the sip app's RECORDINGS_DIR: served by GET /api/voicemail/:id/audio, deleted by retention and patient forget",
  }),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info' },
  ),
  WEB_ROOT: Type.String({ default: defaultWebRoot, description: 'folder of the built web app' }),
  PUBLIC_ORIGIN: Type.Optional(
    Type.String({ pattern: '^https?://[^/]+$', description: 'origin users open, e.g. https://phones.clinic.example' }),
  ),
  COOKIE_SECURE: Type.Boolean({ default: false, description: 'mark cookies Secure (set true behind HTTPS)' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-For from a reverse proxy' }),
  SESSION_IDLE_MINUTES: Type.Integer({ default: 480, minimum: 1, maximum: 1440 }),
  SESSION_MAX_HOURS: Type.Integer({ default: 12, minimum: 1, maximum: 168 }),
  LOGIN_FREE_ATTEMPTS: Type.Integer({
    default: 3,
    minimum: 1,
    maximum: 20,
    description: 'login attempts per account from one address, within the window, that need no wait',
  }),
  LOGIN_DELAY_BASE_SECONDS: Type.Integer({
    default: 1,
    minimum: 1,
    maximum: 60,
    description: 'wait before the first attempt past the free ones; it doubles with each further attempt',
  }),
  LOGIN_DELAY_MAX_SECONDS: Type.Integer({
    default: 900,
    minimum: 1,
    maximum: 3600,
    description: 'the longest wait between two login attempts for one account from one address (at most the window)',
  }),
  LOGIN_WINDOW_MINUTES: Type.Integer({
    default: 60,
    minimum: 1,
    maximum: 1440,
    description: 'how long a failed login is remembered by the login limits',
  }),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: Type.Integer({
    default: 10,
    minimum: 1,
    maximum: 100,
    description:
      'failed logins per account in the window, from all addresses, past which the addresses that failed share a slow lane',
  }),
  LOGIN_ACCOUNT_SLOW_SECONDS: Type.Integer({
    default: 60,
    minimum: 1,
    maximum: 3600,
    description: 'in the slow lane, one attempt per this many seconds for the whole account',
  }),
  LOGIN_MAX_FAILURES_PER_IP: Type.Integer({
    default: 50,
    minimum: 1,
    maximum: 100_000,
    description: 'failed logins per client address in the window, over all accounts, before that address is refused',
  }),
  SIP_DOMAIN: Type.String({
    default: 'deskline.local',
    pattern: '^[A-Za-z0-9.-]+$',
    description: 'SIP domain and digest realm',
  }),
  SIP_WS_PORT: Type.Integer({
    default: 5066,
    minimum: 1,
    maximum: 65535,
    description: "Kamailio's SIP over WebSocket port",
  }),
  SIP_WS_URL: Type.Optional(
    Type.String({
      pattern: '^wss?://',
      description: 'the SIP WebSocket URL browsers use; default ws://<host of the page>:SIP_WS_PORT',
    }),
  ),
  SIP_EPHEMERAL_SECRET: Type.Optional(
    Type.String({
      minLength: 16,
      description: "shared with Kamailio's auth_ephemeral; without it browsers get no SIP credentials",
    }),
  ),
  SIP_CREDENTIALS_HOURS: Type.Integer({ default: 12, minimum: 1, maximum: 48 }),
  PRESENCE_HEARTBEAT_SECONDS: Type.Integer({
    default: 15,
    minimum: 1,
    maximum: 60,
    description:
      'how often each instance refreshes who has the app open; a user is offline 3 heartbeats after the last one',
  }),
  SHUTDOWN_DRAIN_SECONDS: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 30,
    description:
      "on SIGTERM, how long /api/health answers 503 (so that a load balancer's health check stops sending here) before the instance stops",
  }),
  CLINIC_TIME_ZONE: Type.String({
    default: Intl.DateTimeFormat().resolvedOptions().timeZone,
    minLength: 1,
    description:
      "the clinic's IANA time zone, e.g. Europe/Warsaw: the statistics' days are its days (default: the server's zone)",
  }),
  CLINIC_COUNTRY: Type.String({
    default: DEFAULT_CLINIC_COUNTRY,
    pattern: '^[A-Za-z]{2}$',
    description:
      "the clinic's country (ISO 3166-1 alpha-2, e.g. PL): patients' numbers without a country code are read as its numbers, and the first callback policy allows its landlines and mobiles",
  }),
  HISTORY_RETENTION_DAYS: Type.Integer({
    default: DEFAULT_HISTORY_RETENTION_DAYS,
    minimum: 1,
    maximum: 3660,
    description:
      "how many days anything holding a patient's number is kept: closed tasks, call records, callbacks, open tasks after their last change, event stream entries (1 to 3660)",
  }),
  TURN_URLS: Type.Optional(
    Type.Array(Type.String({ pattern: '^turns?:[^\\s,]+$' }), {
      minItems: 1,
      description:
        'comma-separated TURN server URLs given to browsers, e.g. turn:phones.clinic.example:3478?transport=udp',
    }),
  ),
  TURN_SECRET: Type.Optional(
    Type.String({
      minLength: 16,
      description: "coturn's static-auth-secret: signaling issues time-limited TURN credentials with it",
    }),
  ),
});

export type Config = Static<typeof ConfigSchema>;

export { ConfigError };

/** Validates the environment into a Config, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const config = loadEnvConfig(ConfigSchema, env, { lists: ['TURN_URLS', 'REDIS_SENTINELS'], hint: 'see the README' });
  checkRedisSettings(config);
  if ((config.TURN_URLS === undefined) !== (config.TURN_SECRET === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  TURN_URLS and TURN_SECRET go together: set both (to offer TURN) or neither.',
    );
  }
  if (!isTimeZone(config.CLINIC_TIME_ZONE)) {
    throw new ConfigError(
      `Invalid configuration:\n  CLINIC_TIME_ZONE=${JSON.stringify(config.CLINIC_TIME_ZONE)} is invalid: not a time zone this server knows (an IANA name such as Europe/Warsaw)`,
    );
  }
  if (config.LOGIN_DELAY_MAX_SECONDS > config.LOGIN_WINDOW_MINUTES * 60) {
    throw new ConfigError(
      `Invalid configuration:\n  LOGIN_DELAY_MAX_SECONDS=${config.LOGIN_DELAY_MAX_SECONDS} is invalid: longer than LOGIN_WINDOW_MINUTES (${config.LOGIN_WINDOW_MINUTES} minutes), which would forget the attempts before their wait ends`,
    );
  }
  config.CLINIC_COUNTRY = config.CLINIC_COUNTRY.toUpperCase();
  if (!isClinicCountry(config.CLINIC_COUNTRY)) {
    throw new ConfigError(
      `Invalid configuration:\n  CLINIC_COUNTRY=${JSON.stringify(config.CLINIC_COUNTRY)} is invalid: not a country with a telephone numbering plan (an ISO 3166-1 alpha-2 code such as PL or DE)`,
    );
  }
  // Intl takes any case (europe/warsaw); the statistics name the zone as spelled canonically.
  config.CLINIC_TIME_ZONE = new Intl.DateTimeFormat('en-US', {
    timeZone: config.CLINIC_TIME_ZONE,
  }).resolvedOptions().timeZone;
  return config;
}
