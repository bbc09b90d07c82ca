import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadEnvConfig } from '@deskline/env-config';
import { RedisSettingsSchema, checkRedisSettings } from '@deskline/env-config/redis';
import { DEFAULT_HISTORY_RETENTION_DAYS } from '@deskline/store';
import { DEFAULT_CLINIC_COUNTRY, isClinicCountry } from '@deskline/outbound-policy';

const defaultMediaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../pbx-config/media');
const defaultPromptsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../var/prompts');
const defaultRecordingsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../var/recordings');

const Port = (defaultPort: number, description: string) =>
  Type.Integer({ default: defaultPort, minimum: 1, maximum: 65535, description });

/**
 * Every setting of the sip app, named as in docs/call-path.md. Read once at startup from the
 * environment; no other module reads process.env.
 */
export const ConfigSchema = Type.Object({
  ...RedisSettingsSchema,
  SIP_DOMAIN: Type.String({ default: 'deskline.local', minLength: 1, description: 'SIP domain and digest realm' }),
  KAMAILIO_HOST: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: 'address of Kamailio, which the sip app connects to over TCP',
  }),
  SIP_PORT: Port(5060, "Kamailio's SIP port (UDP and TCP); the sip app connects to it over TCP"),
  SIP_APP_HOST: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: "the sip app's local address; Kamailio reaches it through the connection it opens from here",
  }),
  SIP_APP_PORT: Port(5070, "the sip app's local TCP port: it connects to Kamailio from this port"),
  SIP_APP_HEALTH_PORT: Port(5071, 'loopback HTTP port answering GET /health (200 while connected to Kamailio)'),
  RTPENGINE_NG_HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: "rtpengine's ng control address" }),
  RTPENGINE_NG_PORT: Port(22222, "rtpengine's ng control port (UDP)"),
  RTPENGINE_DTMF_PORT: Port(
    22223,
    "the sip app's UDP port on 127.0.0.1 that rtpengine sends the patients' keypresses to (its --dtmf-log-dest)",
  ),
  // The same setting as signaling's: the call plan's hours are the clinic's.
  CLINIC_TIME_ZONE: Type.String({
    default: Intl.DateTimeFormat().resolvedOptions().timeZone,
    minLength: 1,
    description:
      "the clinic's IANA time zone, e.g. Europe/Warsaw: the call plan's hours are in it (default: the server's zone)",
  }),
  CLINIC_NUMBERS: Type.Array(Type.String({ pattern: '^[^\\s,@;:]+$' }), {
    default: ['100'],
    minItems: 1,
    description: 'comma-separated numbers (Request-URI users) that are clinic lines, e.g. 100,101',
  }),
  MEDIA_DIR: Type.String({
    default: defaultMediaDir,
    minLength: 1,
    description:
      'folder holding hold-music.wav and the built-in prompts (prompts/<lang>/<name>.wav), as rtpengine sees it',
  }),
  PROMPTS_DIR: Type.String({
    default: defaultPromptsDir,
    minLength: 1,
    description:
      "folder of the managers' uploaded prompts (signaling writes them), as rtpengine sees it; an upload there replaces the built-in prompt",
  }),
  RECORDINGS_DIR: Type.String({
    default: defaultRecordingsDir,
    minLength: 1,
    description: "folder of voicemail messages' audio (<id>.mp3, mode 600); signaling serves them from the same folder",
  }),
  // Kamailio gives up on an unanswered INVITE after 60 s (tm fr_inv_timer); a longer ring would end
  // as a 408 from Kamailio instead of our CANCEL.
  RING_TIMEOUT_SECONDS: Type.Integer({
    default: 25,
    minimum: 2,
    maximum: 60,
    description:
      'how long a workstation rings before the call moves on (2 to 60), unless the distribution settings name a ring timeout',
  }),
  // A patient whose line drops without a BYE would otherwise wait, hearing music into nothing, until
  // rtpengine's 2 h timeout. The probe is an in-dialog OPTIONS; Kamailio answers 408 for a patient
  // that does not answer within its fr_timer (10 s), so a vanished patient is noticed within this
  // plus 10 s.
  PATIENT_KEEPALIVE_SECONDS: Type.Integer({
    default: 30,
    minimum: 1,
    maximum: 3600,
    description:
      'how often the sip app checks, with an in-dialog OPTIONS, that each answered patient is still there (1 to 3600)',
  }),
  HISTORY_RETENTION_DAYS: Type.Integer({
    default: DEFAULT_HISTORY_RETENTION_DAYS,
    minimum: 1,
    maximum: 3660,
    description: 'how many days call records are kept for the statistics (1 to 3660)',
  }),
  // Callbacks (docs/call-board.md): the sip app calls the grant's number through this trunk, relayed
  // by Kamailio (its R-URI is sip:<number>@OUTBOUND_TRUNK, over UDP). Unset: callbacks get 503.
  OUTBOUND_TRUNK: Type.Optional(
    Type.String({
      // An address, not a name: Kamailio resolves no DNS (dns=no in kamailio.cfg).
      pattern: '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$',
      description:
        'address:port of the trunk or PBX that patients are called back through, e.g. 192.0.2.10:5060 or [2001:db8::10]:5060',
    }),
  ),
  // Kamailio gives up on an unanswered INVITE after 60 s (fr_inv_timer): the sip app's CANCEL must come first.
  CALLBACK_RING_SECONDS: Type.Integer({
    default: 45,
    minimum: 2,
    maximum: 55,
    description: "how long a called-back patient's phone rings before the callback ends as no-answer (2 to 55)",
  }),
  // The same setting as signaling's: the sip app checks the outbound policy again when it dials, and
  // dials the number in E.164, read in this country when it has no country code.
  CLINIC_COUNTRY: Type.String({
    default: DEFAULT_CLINIC_COUNTRY,
    pattern: '^[A-Za-z]{2}$',
    description: "the clinic's country (ISO 3166-1 alpha-2, e.g. PL), as for signaling",
  }),
  CALLBACK_CALLER_ID: Type.Optional(
    Type.String({
      pattern: '^[0-9A-Za-z+*#._~-]{1,64}$',
      description: "the number a called-back patient sees (From's user part); default the first of CLINIC_NUMBERS",
    }),
  ),
  SKIP_INTRO: Type.Boolean({
    default: false,
    description: 'queue callers without playing the intro prompt (for benchmarks)',
  }),
  // A stop (SIGTERM) leaves the calls in rtpengine and Redis for the next instance to adopt, as a
  // crash does; the launcher sets this because it stops rtpengine too, so nothing would carry them on.
  SIP_END_CALLS_ON_STOP: Type.Boolean({
    default: false,
    description: 'on SIGTERM, hang up every call (BYE) instead of leaving them to the next sip app instance',
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
});

export type Config = Static<typeof ConfigSchema>;

export { ConfigError };

/** Validates the environment into a Config, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // CLINIC_NUMBERS is one comma-separated variable that the schema holds as a list.
  const config = loadEnvConfig(ConfigSchema, env, {
    lists: ['CLINIC_NUMBERS', 'REDIS_SENTINELS'],
    hint: 'see sip/README.md',
  });
  checkRedisSettings(config);
  config.CLINIC_COUNTRY = config.CLINIC_COUNTRY.toUpperCase();
  if (!isClinicCountry(config.CLINIC_COUNTRY)) {
    throw new ConfigError(
      `Invalid configuration:\n  CLINIC_COUNTRY=${JSON.stringify(config.CLINIC_COUNTRY)} is invalid: not a country with a telephone numbering plan (an ISO 3166-1 alpha-2 code such as PL or DE)`,
    );
  }
  try {
    // Intl takes any case (europe/warsaw) and names the zone canonically.
    config.CLINIC_TIME_ZONE = new Intl.DateTimeFormat('en-US', {
      timeZone: config.CLINIC_TIME_ZONE,
    }).resolvedOptions().timeZone;
  } catch {
    throw new ConfigError(
      `Invalid configuration:\n  CLINIC_TIME_ZONE=${JSON.stringify(config.CLINIC_TIME_ZONE)} is invalid: not a time zone this server knows (an IANA name such as Europe/Warsaw)`,
    );
  }
  return config;
}
