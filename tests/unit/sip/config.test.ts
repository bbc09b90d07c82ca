import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '@deskline/sip/config';

function problem(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted an invalid configuration');
}

const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };

test('defaults follow docs/call-path.md', () => {
  const config = loadConfig(REDIS);
  assert.is(config.SIP_DOMAIN, 'deskline.local');
  assert.is(config.KAMAILIO_HOST, '127.0.0.1');
  assert.is(config.SIP_PORT, 5060);
  assert.is(config.SIP_APP_HOST, '127.0.0.1');
  assert.is(config.SIP_APP_PORT, 5070);
  assert.is(config.RTPENGINE_NG_HOST, '127.0.0.1');
  assert.is(config.RTPENGINE_NG_PORT, 22222);
  assert.is(config.RTPENGINE_DTMF_PORT, 22223);
  assert.is(config.CLINIC_TIME_ZONE, Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(config.CLINIC_NUMBERS, ['100']);
  assert.match(config.MEDIA_DIR, /pbx-config\/media$/);
  assert.is(config.RING_TIMEOUT_SECONDS, 25);
  assert.is(config.SKIP_INTRO, false);
  assert.is(config.PATIENT_KEEPALIVE_SECONDS, 30);
  assert.is(config.HISTORY_RETENTION_DAYS, 90);
  assert.is(config.LOG_LEVEL, 'info');
});

test("CLINIC_TIME_ZONE (the call plan's hours): an IANA zone, spelled canonically; anything else is refused", () => {
  assert.is(loadConfig({ ...REDIS, CLINIC_TIME_ZONE: 'europe/warsaw' }).CLINIC_TIME_ZONE, 'Europe/Warsaw');
  assert.match(problem({ ...REDIS, CLINIC_TIME_ZONE: 'Mars/Olympus' }), /CLINIC_TIME_ZONE="Mars\/Olympus" is invalid/);
});

test('REDIS_SENTINELS and REDIS_SENTINEL_MASTER: together, IPv4 address:port each, a plain master name', () => {
  const config = loadConfig({
    ...REDIS,
    REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
    REDIS_SENTINEL_MASTER: 'deskline',
  });
  assert.equal(config.REDIS_SENTINELS, ['10.0.0.1:26379', '10.0.0.2:26379']);
  assert.is(config.REDIS_SENTINEL_MASTER, 'deskline');
  assert.is(loadConfig(REDIS).REDIS_SENTINELS, undefined);
  assert.match(
    problem({ ...REDIS, REDIS_SENTINELS: '10.0.0.1:26379' }),
    /REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/,
  );
  assert.match(problem({ ...REDIS, REDIS_SENTINEL_MASTER: 'deskline' }), /go together/);
  for (const bad of ['sentinel.example:26379', '[::1]:26379', '10.0.0.1', '10.0.0.1:99999']) {
    assert.match(
      problem({ ...REDIS, REDIS_SENTINELS: bad, REDIS_SENTINEL_MASTER: 'deskline' }),
      /REDIS_SENTINELS=.* is invalid/,
      bad,
    );
  }
  assert.match(
    problem({ ...REDIS, REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_MASTER: 'two words' }),
    /REDIS_SENTINEL_MASTER="two words" is invalid/,
  );
});

test("CLINIC_COUNTRY: PL unless set (as signaling's), upper-cased, a country with a numbering plan", () => {
  assert.is(loadConfig(REDIS).CLINIC_COUNTRY, 'PL');
  assert.is(loadConfig({ ...REDIS, CLINIC_COUNTRY: 'cz' }).CLINIC_COUNTRY, 'CZ');
  assert.match(problem({ ...REDIS, CLINIC_COUNTRY: 'ZZ' }), /CLINIC_COUNTRY="ZZ" is invalid/);
});

test('HISTORY_RETENTION_DAYS is a whole number of days from 1 on', () => {
  assert.is(loadConfig({ ...REDIS, HISTORY_RETENTION_DAYS: '365' }).HISTORY_RETENTION_DAYS, 365);
  assert.match(problem({ ...REDIS, HISTORY_RETENTION_DAYS: '0' }), /HISTORY_RETENTION_DAYS="0" is invalid/);
  assert.match(problem({ ...REDIS, HISTORY_RETENTION_DAYS: 'ninety' }), /HISTORY_RETENTION_DAYS="ninety" is invalid/);
});

test('values are converted; CLINIC_NUMBERS is a comma-separated list', () => {
  const config = loadConfig({
    ...REDIS,
    SIP_PORT: '15060',
    SIP_APP_PORT: '15070',
    CLINIC_NUMBERS: ' 100, 0301234567 ,+4930123',
    SKIP_INTRO: 'true',
    RING_TIMEOUT_SECONDS: '30',
    LOG_LEVEL: 'debug',
  });
  assert.is(config.SIP_PORT, 15060);
  assert.is(config.SIP_APP_PORT, 15070);
  assert.equal(config.CLINIC_NUMBERS, ['100', '0301234567', '+4930123']);
  assert.is(config.SKIP_INTRO, true);
  assert.is(config.RING_TIMEOUT_SECONDS, 30);
  assert.is(config.LOG_LEVEL, 'debug');
});

test('a missing REDIS_URL is named, with what it should be', () => {
  assert.match(problem({}), /REDIS_URL is required \(redis:\/\/host:port\/db/);
});

test('an empty variable counts as unset', () => {
  assert.is(loadConfig({ ...REDIS, SIP_PORT: '', CLINIC_NUMBERS: ' ' }).SIP_PORT, 5060);
  assert.equal(loadConfig({ ...REDIS, CLINIC_NUMBERS: '' }).CLINIC_NUMBERS, ['100']);
});

test('each bad variable is named with the value given', () => {
  const message = problem({
    REDIS_URL: 'http://r',
    SIP_PORT: '5060x',
    RTPENGINE_NG_PORT: '70000',
    CLINIC_NUMBERS: '100,,101',
    SKIP_INTRO: 'maybe',
    LOG_LEVEL: 'loud',
  });
  assert.match(message, /REDIS_URL="http:\/\/r" is invalid/);
  assert.match(message, /SIP_PORT="5060x" is invalid/);
  assert.match(message, /RTPENGINE_NG_PORT="70000" is invalid/);
  assert.match(message, /CLINIC_NUMBERS="100,,101" is invalid/);
  assert.match(message, /SKIP_INTRO="maybe" is invalid/);
  assert.match(message, /LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent/);
  assert.is(message.split('\n').length, 7, 'one line per variable, after the heading');
});

test('a clinic number cannot carry URI syntax', () => {
  assert.match(problem({ ...REDIS, CLINIC_NUMBERS: '100@clinic' }), /CLINIC_NUMBERS="100@clinic" is invalid/);
});

test('the ring timeout has sane bounds: at least 2 s, at most the 60 s Kamailio waits for an answer', () => {
  assert.match(problem({ ...REDIS, RING_TIMEOUT_SECONDS: '1' }), /RING_TIMEOUT_SECONDS="1" is invalid/);
  assert.match(problem({ ...REDIS, RING_TIMEOUT_SECONDS: '61' }), /RING_TIMEOUT_SECONDS="61" is invalid/);
  assert.is(loadConfig({ ...REDIS, RING_TIMEOUT_SECONDS: '2' }).RING_TIMEOUT_SECONDS, 2);
});

test('the patient keepalive is 1 s to 1 h', () => {
  assert.match(problem({ ...REDIS, PATIENT_KEEPALIVE_SECONDS: '0' }), /PATIENT_KEEPALIVE_SECONDS="0" is invalid/);
  assert.match(problem({ ...REDIS, PATIENT_KEEPALIVE_SECONDS: '3601' }), /PATIENT_KEEPALIVE_SECONDS="3601" is invalid/);
  assert.is(loadConfig({ ...REDIS, PATIENT_KEEPALIVE_SECONDS: '5' }).PATIENT_KEEPALIVE_SECONDS, 5);
});

test('callbacks: no outbound trunk unless set, a ring of 45 s (2 to 55), the caller id defaults to nothing (the app takes the first clinic number)', () => {
  const config = loadConfig(REDIS);
  assert.is(config.OUTBOUND_TRUNK, undefined);
  assert.is(config.CALLBACK_RING_SECONDS, 45);
  assert.is(config.CALLBACK_CALLER_ID, undefined);
  assert.is(loadConfig({ ...REDIS, OUTBOUND_TRUNK: '192.0.2.10:5060' }).OUTBOUND_TRUNK, '192.0.2.10:5060');
  assert.is(loadConfig({ ...REDIS, OUTBOUND_TRUNK: '[2001:db8::10]:5060' }).OUTBOUND_TRUNK, '[2001:db8::10]:5060');
  // Kamailio resolves no names, and the port is needed.
  assert.match(
    problem({ ...REDIS, OUTBOUND_TRUNK: 'pbx.clinic.example:5060' }),
    /OUTBOUND_TRUNK="pbx.clinic.example:5060" is invalid/,
  );
  assert.match(problem({ ...REDIS, OUTBOUND_TRUNK: '192.0.2.10' }), /OUTBOUND_TRUNK="192.0.2.10" is invalid/);
  assert.match(problem({ ...REDIS, CALLBACK_RING_SECONDS: '56' }), /CALLBACK_RING_SECONDS="56" is invalid/);
  assert.match(problem({ ...REDIS, CALLBACK_CALLER_ID: '100@evil' }), /CALLBACK_CALLER_ID="100@evil" is invalid/);
});

test.run();
