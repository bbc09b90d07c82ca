/**
 * TURN for staff behind strict NAT: with TURN_URLS and TURN_SECRET, GET /api/sip/credentials also
 * answers time-limited TURN credentials in the TURN REST API format that coturn's use-auth-secret
 * checks; without them nothing changes.
 */
import { createHmac } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SipCredentials, Workstation } from '@deskline/protocol';
import { ConfigError, loadConfig } from '@deskline/signaling/config';
import { asUser, createUser, loginOk, useFreshApp, type AppFixture, type LoggedIn } from '../../helpers/signaling.js';

const SIP_SECRET = 'a-test-secret-of-enough-length';
const TURN_SECRET = 'the-coturn-static-auth-secret';
const TURN_URLS = ['turn:phones.clinic.example:3478?transport=udp', 'turn:phones.clinic.example:3478?transport=tcp'];

/** Anna, logged in and on a browser workstation, asks for her phone's credentials. */
async function credentialsOfAnna(fixture: AppFixture): Promise<{ anna: LoggedIn; credentials: SipCredentials }> {
  const { app } = fixture;
  const anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  const desk: Workstation = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  const picked = await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id });
  assert.is(picked.statusCode, 200, picked.body);
  const response = await asUser(app, anna, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 200, response.body);
  assert.is(response.headers['cache-control'], 'no-store');
  return { anna, credentials: response.json<SipCredentials>() };
}

const withTurn = suite('with TURN_URLS and TURN_SECRET');
const turnFixture = useFreshApp(withTurn, {
  SIP_EPHEMERAL_SECRET: SIP_SECRET,
  TURN_URLS: TURN_URLS.join(', '),
  TURN_SECRET,
});

withTurn(
  'the credentials carry one TURN server: username "<expiry>:<userId>", credential base64(HMAC-SHA1(secret, username))',
  async () => {
    const { anna, credentials } = await credentialsOfAnna(turnFixture);
    assert.ok(credentials.iceServers, 'iceServers are there');
    assert.is(credentials.iceServers.length, 1);
    const [turn] = credentials.iceServers;
    assert.ok(turn);
    assert.equal(turn.urls, TURN_URLS);
    const expiry = Math.floor(credentials.expiresAt / 1000);
    assert.is(turn.username, `${expiry}:${anna.info.user.id}`);
    assert.is(turn.credential, createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
    // The TURN credentials live exactly as long as the SIP ones, and are renewed with them.
    assert.is(credentials.username.split(':')[0], String(expiry));
    assert.ok(expiry * 1000 > Date.now() + 11 * 3_600_000, 'valid for about SIP_CREDENTIALS_HOURS (12 h)');
    // Not the SIP secret: coturn and Kamailio have secrets of their own.
    assert.is.not(turn.credential, createHmac('sha1', SIP_SECRET).update(turn.username).digest('base64'));
  },
);

withTurn.run();

const withoutTurn = suite('without TURN settings');
const plainFixture = useFreshApp(withoutTurn, { SIP_EPHEMERAL_SECRET: SIP_SECRET });

withoutTurn('the credentials have no iceServers at all', async () => {
  const { credentials } = await credentialsOfAnna(plainFixture);
  assert.not.ok('iceServers' in credentials, JSON.stringify(credentials));
  assert.equal(Object.keys(credentials).sort(), ['expiresAt', 'password', 'uri', 'username', 'wsUrl']);
});

withoutTurn.run();

const settings = suite('TURN settings');

settings('TURN_URLS and TURN_SECRET go together, and each URL must be a turn: or turns: URL', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379' };
  assert.throws(
    () => loadConfig({ ...base, TURN_URLS: TURN_URLS[0] }),
    (err: unknown) => err instanceof ConfigError && /TURN_SECRET/.test(err.message),
  );
  assert.throws(
    () => loadConfig({ ...base, TURN_SECRET }),
    (err: unknown) => err instanceof ConfigError && /TURN_URLS/.test(err.message),
  );
  assert.throws(() => loadConfig({ ...base, TURN_SECRET, TURN_URLS: 'https://phones.clinic.example' }), /TURN_URLS/);
  assert.throws(() => loadConfig({ ...base, TURN_SECRET: 'short', TURN_URLS: TURN_URLS[0] }), /TURN_SECRET/);
  const config = loadConfig({ ...base, TURN_SECRET, TURN_URLS: ` ${TURN_URLS.join(' , ')} ` });
  assert.equal(config.TURN_URLS, TURN_URLS);
  assert.is(loadConfig(base).TURN_URLS, undefined);
});

settings.run();
