/**
 * The login limits, tried as an attacker would: bursts of concurrent guesses from one address and
 * from many, an attacker who wants to keep a real user out, the progressive delay with real time,
 * and one address spraying many accounts. Real Redis, the real app; the argon2 verifications that
 * actually ran are read from the app's own metric.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiError } from '@deskline/protocol';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { buildTestApp, createUser } from '../helpers/signaling.js';
import { waitFor } from '../helpers/wait.js';

const ANNA = 'anna@clinic.example';
const PASSWORD = 'correct horse battery';

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance | undefined;

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
});

test.before.each(async () => {
  await db.flushall();
});

test.after.each(async () => {
  await app?.close();
  app = undefined;
});

test.after(async () => {
  db.disconnect();
  await redis.stop();
});

/** The app behind a proxy (TRUST_PROXY), so that X-Forwarded-For sets the client address. */
async function start(env: Record<string, string> = {}): Promise<FastifyInstance> {
  app = await buildTestApp(redis.url, { TRUST_PROXY: 'true', ...env });
  await createUser(app, ANNA, 'employee', PASSWORD);
  return app;
}

function attempt(from: string, email: string, password: string, target = app!): Promise<LightMyRequestResponse> {
  return target.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'x-forwarded-for': from },
    payload: { email, password },
  });
}

function tally(responses: LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
  return counts;
}

const message = (response: LightMyRequestResponse): string => response.json<ApiError>().message;

test('500 concurrent wrong logins for one account from one address run only the free attempts through argon2', async () => {
  // A first delay longer than the burst, so that the bound is exactly the free attempts.
  const target = await start({ LOGIN_FREE_ATTEMPTS: '3', LOGIN_DELAY_BASE_SECONDS: '60' });
  const started = performance.now();
  const responses = await Promise.all(
    Array.from({ length: 500 }, (_, i) => attempt('203.0.113.7', ANNA, `guess ${i}`)),
  );
  const ms = performance.now() - started;
  const counts = tally(responses);
  const { verifications } = target.loginMetrics;
  console.log(
    `one address: 500 concurrent wrong logins → ${verifications} argon2 verifications (allowed 3), statuses ${JSON.stringify(counts)}, ${ms.toFixed(0)} ms`,
  );
  assert.ok(verifications <= 3, `at most the free attempts are verified, got ${verifications}`);
  assert.is(counts[401], verifications, 'each verification is a 401');
  assert.is(counts[429], 500 - verifications, 'every other attempt is refused before argon2');
  assert.is(target.loginMetrics.refusals, counts[429]);
  const refused = responses.find((r) => r.statusCode === 429)!;
  assert.match(message(refused), /^Too many failed logins for this account\. Try again in (\d+ seconds|1 minute)\.$/);
  assert.ok(Number(refused.headers['retry-after']) >= 1);

  // An unknown email is limited the same way, so the limits tell nothing about which emails exist.
  const before = target.loginMetrics.verifications;
  const unknown = await Promise.all(
    Array.from({ length: 500 }, (_, i) => attempt('203.0.113.8', 'nobody@clinic.example', `guess ${i}`)),
  );
  const unknownVerifications = target.loginMetrics.verifications - before;
  console.log(
    `unknown email: 500 concurrent → ${unknownVerifications} verifications, statuses ${JSON.stringify(tally(unknown))}`,
  );
  assert.ok(unknownVerifications <= 3);
  assert.equal(tally(unknown), counts);
});

test('500 concurrent wrong logins for one account from 50 addresses: at most the account threshold plus one per address, plus one slow-lane slot', async () => {
  const target = await start({
    LOGIN_FREE_ATTEMPTS: '3',
    LOGIN_DELAY_BASE_SECONDS: '60',
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '10',
  });
  const addresses = Array.from({ length: 50 }, (_, i) => `198.51.100.${i + 1}`);
  const responses = await Promise.all(
    Array.from({ length: 500 }, (_, i) => attempt(addresses[i % 50]!, ANNA, `guess ${i}`)),
  );
  const counts = tally(responses);
  const { verifications } = target.loginMetrics;
  const allowed = 10 + addresses.length + 1;
  console.log(
    `50 addresses: 500 concurrent wrong logins → ${verifications} argon2 verifications (allowed ≤ ${allowed}; per-address delays alone would allow 150), statuses ${JSON.stringify(counts)}`,
  );
  assert.ok(verifications <= allowed, `got ${verifications}`);
  assert.is(counts[401], verifications);
  assert.is(counts[429], 500 - verifications);
});

test("after an attacker's 100 failures from many addresses, the real user from a clean address logs in at once", async () => {
  await start({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '10', LOGIN_ACCOUNT_SLOW_SECONDS: '60' });
  const attackers = Array.from({ length: 100 }, (_, i) => `192.0.2.${i + 1}`);
  const first = await Promise.all(attackers.map((from, i) => attempt(from, ANNA, `guess ${i}`)));
  assert.equal(tally(first), { 401: 100 }, 'each clean address gets one verified guess');

  // Addresses that have failed on the account now share one attempt per minute.
  const second = await Promise.all(attackers.map((from, i) => attempt(from, ANNA, `again ${i}`)));
  const counts = tally(second);
  console.log(`second round from the 100 failing addresses: ${JSON.stringify(counts)}`);
  assert.ok((counts[401] ?? 0) <= 1, 'at most one slow-lane slot');
  const slowed = second.find((r) => r.statusCode === 429)!;
  assert.match(message(slowed), /^This account has had many failed logins\. Try again in (\d+ seconds|1 minute)\.$/);
  assert.ok(Number(slowed.headers['retry-after']) <= 60);

  const started = performance.now();
  const user = await attempt('10.1.2.3', ANNA, PASSWORD);
  console.log(
    `the real user, after ${100 + (counts[401] ?? 0)} failures: ${user.statusCode} in ${(performance.now() - started).toFixed(0)} ms`,
  );
  assert.is(user.statusCode, 200, user.body);
});

test('progressive delay: refused with 429 and Retry-After until the wait passes (1 s, then 2 s, capped at 2 s), accepted after', async () => {
  await start({ LOGIN_FREE_ATTEMPTS: '2', LOGIN_DELAY_BASE_SECONDS: '1', LOGIN_DELAY_MAX_SECONDS: '2' });
  const from = '203.0.113.20';
  assert.is((await attempt(from, ANNA, 'guess 1')).statusCode, 401);
  // Another spelling of the same email is the same account: no extra free attempts.
  let last = performance.now();
  assert.is((await attempt(from, 'Anna@Clinic.EXAMPLE', 'guess 2')).statusCode, 401);

  for (const [wait, retryAfter] of [
    [1000, '1'],
    [2000, '2'],
    [2000, '2'],
  ] as const) {
    const refused = await attempt(from, ANNA, 'too soon');
    assert.is(refused.statusCode, 429);
    assert.is(refused.headers['retry-after'], retryAfter);
    assert.is(
      message(refused),
      `Too many failed logins for this account. Try again in ${retryAfter === '1' ? '1 second' : '2 seconds'}.`,
    );
    const accepted = await waitFor(
      `the ${wait} ms wait to pass`,
      async () => {
        const sent = performance.now();
        const response = await attempt(from, ANNA, 'after the wait');
        return response.statusCode === 429 ? undefined : { response, sent, at: performance.now() };
      },
      wait + 3000,
    );
    assert.is(accepted.response.statusCode, 401, 'the attempt is verified once the wait has passed');
    // From before the previous attempt was sent to after this one was answered: never shorter than the wait.
    const waited = accepted.at - last;
    console.log(`delay ${wait} ms: accepted after ${waited.toFixed(0)} ms`);
    assert.ok(
      waited >= wait - 5,
      `accepted ${waited.toFixed(0)} ms after the previous attempt, before the ${wait} ms wait`,
    );
    last = accepted.sent;
  }
});

test('during a delay the right password is refused like a wrong one (no oracle), and a success resets the pair', async () => {
  await start({ LOGIN_FREE_ATTEMPTS: '2', LOGIN_DELAY_BASE_SECONDS: '1', LOGIN_DELAY_MAX_SECONDS: '2' });
  const from = '203.0.113.30';
  for (const guess of ['guess 1', 'guess 2']) assert.is((await attempt(from, ANNA, guess)).statusCode, 401);
  const [right, wrong] = await Promise.all([attempt(from, ANNA, PASSWORD), attempt(from, ANNA, 'guess 3')]);
  assert.is(right.statusCode, 429);
  assert.is(wrong.statusCode, 429);
  assert.is(message(right), message(wrong));
  assert.is(right.headers['retry-after'], wrong.headers['retry-after']);
  assert.is(right.cookies.length, 0, 'no session during the delay');

  const success = await waitFor(
    'the delay to pass',
    async () => {
      const response = await attempt(from, ANNA, PASSWORD);
      return response.statusCode === 429 ? undefined : response;
    },
    4000,
  );
  assert.is(success.statusCode, 200);
  assert.is(await db.exists(`login-attempts:pair:${from}|${ANNA}`), 0, 'the pair is forgotten');
  // Free attempts again, with no wait in between.
  for (const guess of ['typo 1', 'typo 2']) assert.is((await attempt(from, ANNA, guess)).statusCode, 401);
  assert.is((await attempt(from, ANNA, 'typo 3')).statusCode, 429);
});

test('one address spraying many accounts meets the per-address ceiling; going around it does not work', async () => {
  const target = await start({ LOGIN_MAX_FAILURES_PER_IP: '6' });
  await createUser(target, 'ben@clinic.example', 'employee', 'bens own password');
  const sprayed = await Promise.all(
    Array.from({ length: 100 }, (_, i) => attempt('203.0.113.40', `user${i}@clinic.example`, 'Summer2026!')),
  );
  const counts = tally(sprayed);
  console.log(
    `one address, 100 accounts at once: ${target.loginMetrics.verifications} verifications (ceiling 6), ${JSON.stringify(counts)}`,
  );
  assert.equal(counts, { 401: 6, 429: 94 });
  assert.is(target.loginMetrics.verifications, 6);

  const refused = await attempt('203.0.113.40', 'ben@clinic.example', 'bens own password');
  assert.is(refused.statusCode, 429, 'even a right password from that address');
  assert.match(message(refused), /^Too many failed logins from this network\. Try again in (59|60) minutes\.$/);
  assert.ok(Number(refused.headers['retry-after']) > 3500);
  assert.is(
    (await attempt('203.0.113.41', 'ben@clinic.example', 'bens own password')).statusCode,
    200,
    'another address is not affected',
  );

  // Another address in the same IPv6 /64 is the same subscriber.
  for (let i = 0; i < 6; i += 1)
    assert.is((await attempt(`2001:db8:1:2::${i + 1}`, `user${i}@clinic.example`, 'x')).statusCode, 401);
  assert.is((await attempt('2001:db8:1:2:ffff::9', 'ben@clinic.example', 'bens own password')).statusCode, 429);
  assert.is((await attempt('2001:db8:1:3::1', 'ben@clinic.example', 'bens own password')).statusCode, 200);
});

test('without TRUST_PROXY a forged X-Forwarded-For does not give a fresh address', async () => {
  await start({ TRUST_PROXY: 'false', LOGIN_FREE_ATTEMPTS: '2', LOGIN_DELAY_BASE_SECONDS: '60' });
  assert.is((await attempt('198.18.0.1', ANNA, 'guess 1')).statusCode, 401);
  assert.is((await attempt('198.18.0.2', ANNA, 'guess 2')).statusCode, 401);
  assert.is((await attempt('198.18.0.3', ANNA, PASSWORD)).statusCode, 429);
});

test('behind the proxy, addresses a client puts before its own in X-Forwarded-For do not give a fresh address', async () => {
  await start({ LOGIN_FREE_ATTEMPTS: '2', LOGIN_DELAY_BASE_SECONDS: '60' });
  // The proxy appends the address it saw (203.0.113.50); what comes before it is the client's own text.
  assert.is((await attempt('198.18.0.1, 203.0.113.50', ANNA, 'guess 1')).statusCode, 401);
  assert.is((await attempt('198.18.0.2, 203.0.113.50', ANNA, 'guess 2')).statusCode, 401);
  assert.is((await attempt('198.18.0.3, 203.0.113.50', ANNA, PASSWORD)).statusCode, 429);
  // Another client of the same proxy is another address.
  assert.is((await attempt('198.18.0.3, 203.0.113.51', ANNA, PASSWORD)).statusCode, 200);
});

test('an unknown email costs the same time as a known one with a wrong password', async () => {
  const target = await start({ LOGIN_FREE_ATTEMPTS: '20' });
  await attempt('203.0.113.60', 'warm-up@clinic.example', 'x');
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 9; i += 1) {
    for (const [email, sink] of [
      [ANNA, known],
      ['nobody@clinic.example', unknown],
    ] as const) {
      const started = performance.now();
      const response = await attempt('203.0.113.61', email, `guess ${i}`, target);
      sink.push(performance.now() - started);
      assert.is(response.statusCode, 401);
    }
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratio = median(unknown) / median(known);
  console.log(
    `median login time: known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms (ratio ${ratio.toFixed(2)})`,
  );
  assert.ok(ratio > 0.67 && ratio < 1.5, `ratio ${ratio.toFixed(2)}`);
});

test.run();
