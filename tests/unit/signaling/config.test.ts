import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '@deskline/signaling/config';

function problem(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted an invalid configuration');
}

test('defaults: 127.0.0.1:8080, plain-HTTP cookies, 10 failures per account per hour', () => {
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.is(config.HOST, '127.0.0.1');
  assert.is(config.PORT, 8080);
  assert.is(config.COOKIE_SECURE, false);
  assert.is(config.LOGIN_MAX_FAILURES_PER_ACCOUNT, 10);
  assert.is(config.LOG_LEVEL, 'info');
  assert.is(config.PUBLIC_ORIGIN, undefined);
});

test('values from the environment are converted to their types', () => {
  const config = loadConfig({
    REDIS_URL: 'rediss://cache:6380/2',
    PORT: '9000',
    COOKIE_SECURE: 'true',
    LOG_LEVEL: 'warn',
  });
  assert.is(config.PORT, 9000);
  assert.is(config.COOKIE_SECURE, true);
  assert.is(config.LOG_LEVEL, 'warn');
});

test('a missing REDIS_URL is named, with what it should be', () => {
  assert.match(problem({}), /REDIS_URL is required \(redis:\/\/host:port\/db/);
});

test('an empty variable counts as unset', () => {
  assert.is(loadConfig({ REDIS_URL: 'redis://r:6379', PORT: '' }).PORT, 8080);
});

test('each bad variable is named with the value given', () => {
  const message = problem({ REDIS_URL: 'http://r', PORT: '80a', LOG_LEVEL: 'loud' });
  assert.match(message, /REDIS_URL="http:\/\/r" is invalid/);
  assert.match(message, /PORT="80a" is invalid/);
  assert.match(message, /LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent/);
});

test('ports outside 1..65535 are refused', () => {
  assert.match(problem({ REDIS_URL: 'redis://r', PORT: '70000' }), /PORT="70000" is invalid/);
  assert.match(problem({ REDIS_URL: 'redis://r', PORT: '0' }), /PORT="0" is invalid/);
});

test("the account's slow-lane threshold cannot be set above ASVS 2.2.1 (100 failures per hour)", () => {
  assert.is(
    loadConfig({ REDIS_URL: 'redis://r', LOGIN_MAX_FAILURES_PER_ACCOUNT: '100' }).LOGIN_MAX_FAILURES_PER_ACCOUNT,
    100,
  );
  assert.match(
    problem({ REDIS_URL: 'redis://r', LOGIN_MAX_FAILURES_PER_ACCOUNT: '101' }),
    /LOGIN_MAX_FAILURES_PER_ACCOUNT="101"/,
  );
});

test('login delays: 3 free attempts, then 1 s doubling up to 15 min, remembered an hour; bounds are enforced', () => {
  const config = loadConfig({ REDIS_URL: 'redis://r' });
  assert.is(config.LOGIN_FREE_ATTEMPTS, 3);
  assert.is(config.LOGIN_DELAY_BASE_SECONDS, 1);
  assert.is(config.LOGIN_DELAY_MAX_SECONDS, 900);
  assert.is(config.LOGIN_WINDOW_MINUTES, 60);
  assert.is(config.LOGIN_ACCOUNT_SLOW_SECONDS, 60);
  assert.match(problem({ REDIS_URL: 'redis://r', LOGIN_FREE_ATTEMPTS: '0' }), /LOGIN_FREE_ATTEMPTS="0"/);
  assert.match(problem({ REDIS_URL: 'redis://r', LOGIN_DELAY_MAX_SECONDS: '3601' }), /LOGIN_DELAY_MAX_SECONDS="3601"/);
  assert.match(problem({ REDIS_URL: 'redis://r', LOGIN_ACCOUNT_SLOW_SECONDS: '0' }), /LOGIN_ACCOUNT_SLOW_SECONDS="0"/);
  // A wait longer than the memory of the attempts would end early, when they are forgotten.
  assert.match(
    problem({ REDIS_URL: 'redis://r', LOGIN_WINDOW_MINUTES: '10', LOGIN_DELAY_MAX_SECONDS: '900' }),
    /LOGIN_DELAY_MAX_SECONDS=900 is invalid: longer than LOGIN_WINDOW_MINUTES/,
  );
});

test('PUBLIC_ORIGIN must be a bare origin', () => {
  assert.is(
    loadConfig({ REDIS_URL: 'redis://r', PUBLIC_ORIGIN: 'https://phones.clinic.example' }).PUBLIC_ORIGIN,
    'https://phones.clinic.example',
  );
  assert.match(
    problem({ REDIS_URL: 'redis://r', PUBLIC_ORIGIN: 'https://phones.clinic.example/app' }),
    /PUBLIC_ORIGIN/,
  );
});

test("CLINIC_TIME_ZONE: an IANA zone, canonically spelled; by default the server's own", () => {
  assert.is(loadConfig({ REDIS_URL: 'redis://r' }).CLINIC_TIME_ZONE, Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.is(
    loadConfig({ REDIS_URL: 'redis://r', CLINIC_TIME_ZONE: 'Europe/Warsaw' }).CLINIC_TIME_ZONE,
    'Europe/Warsaw',
  );
  assert.is(
    loadConfig({ REDIS_URL: 'redis://r', CLINIC_TIME_ZONE: 'europe/warsaw' }).CLINIC_TIME_ZONE,
    'Europe/Warsaw',
  );
  assert.match(
    problem({ REDIS_URL: 'redis://r', CLINIC_TIME_ZONE: 'Europe/Atlantis' }),
    /CLINIC_TIME_ZONE="Europe\/Atlantis" is invalid: not a time zone this server knows/,
  );
});

test('CLINIC_COUNTRY: PL unless set, upper-cased, a country with a numbering plan', () => {
  assert.is(loadConfig({ REDIS_URL: 'redis://r' }).CLINIC_COUNTRY, 'PL');
  assert.is(loadConfig({ REDIS_URL: 'redis://r', CLINIC_COUNTRY: 'de' }).CLINIC_COUNTRY, 'DE');
  assert.match(
    problem({ REDIS_URL: 'redis://r', CLINIC_COUNTRY: 'XX' }),
    /CLINIC_COUNTRY="XX" is invalid: not a country with a telephone numbering plan/,
  );
  assert.match(problem({ REDIS_URL: 'redis://r', CLINIC_COUNTRY: 'Poland' }), /CLINIC_COUNTRY="Poland" is invalid/);
});

test('HISTORY_RETENTION_DAYS: 90 days unless set, at least 1', () => {
  assert.is(loadConfig({ REDIS_URL: 'redis://r' }).HISTORY_RETENTION_DAYS, 90);
  assert.is(loadConfig({ REDIS_URL: 'redis://r', HISTORY_RETENTION_DAYS: '400' }).HISTORY_RETENTION_DAYS, 400);
  assert.match(
    problem({ REDIS_URL: 'redis://r', HISTORY_RETENTION_DAYS: '0' }),
    /HISTORY_RETENTION_DAYS="0" is invalid/,
  );
});

test.run();
