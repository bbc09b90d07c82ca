/**
 * TURN in the browser: with TURN_URLS and TURN_SECRET, the softphone answers a call with the TURN
 * server and credentials of its SIP credentials in the RTCPeerConnection's iceServers (JsSIP's
 * pcConfig); never JsSIP's default public STUN server. Redis, Kamailio and signaling are real; a
 * stand-in for the sip app rings the browser with a late-offer INVITE (no SDP, so no rtpengine).
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { browserSipUser } from '@deskline/store';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { WorkstationRinger } from '../../helpers/workstation-ringer.js';

const TIMEOUT = 10_000;
const TURN_SECRET = 'the-coturn-static-auth-secret';
// Nothing listens there: the test looks at the configuration, not at relayed audio.
const TURN_URL = 'turn:127.0.0.1:9?transport=udp';

let redis: TestRedis;
let kamailio: TestKamailio;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
let ringer: WorkstationRinger;
let desk: Workstation;

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  app = await buildTestApp(redis.url, {
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
    TURN_URLS: TURN_URL,
    TURN_SECRET,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  desk = (await createClinic(app, { staff: ['anna'], workstations: ['reception1'] })).workstations.reception1;
  ringer = await WorkstationRinger.connect(kamailio);
  browser = await launchBrowser();
  // Every RTCPeerConnection the page makes leaves its configuration where the test can read it.
  await browser.context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const seen: RTCConfiguration[] = [];
    (window as unknown as { __pcConfigs: RTCConfiguration[] }).__pcConfigs = seen;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        seen.push(JSON.parse(JSON.stringify(config ?? {})) as RTCConfiguration);
        super(config);
      }
    };
  });
});

test.after(async () => {
  await browser?.close();
  await ringer?.close();
  await app?.close();
  await kamailio?.stop();
  await redis?.stop();
});

async function peerConnectionConfigs(page: Page): Promise<RTCConfiguration[]> {
  return page.evaluate(() => (window as unknown as { __pcConfigs: RTCConfiguration[] }).__pcConfigs);
}

test("answering a call, the browser's RTCPeerConnection gets the TURN server and time-limited credentials from signaling", async () => {
  const page = await browser.context.newPage();
  await page.goto(base);
  await page.getByLabel('Email').fill(STAFF.anna.email);
  await page.getByLabel('Password').fill(STAFF.anna.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Reception 1' }).click();
  await page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });

  const ring = ringer.prepare({ user: browserSipUser(desk.id), from: '+4930123456' }).invite();
  await ring.response(180, TIMEOUT);
  await page.getByRole('region', { name: 'Incoming call' }).getByRole('button', { name: 'Answer' }).click();

  const configs = await (async () => {
    for (const started = Date.now(); Date.now() - started < TIMEOUT; await new Promise((r) => setTimeout(r, 50))) {
      const found = await peerConnectionConfigs(page);
      if (found.length > 0) return found;
    }
    throw new Error('the page made no RTCPeerConnection after Answer');
  })();
  assert.is(configs.length, 1);
  const servers = configs[0]?.iceServers ?? [];
  assert.is(servers.length, 1, JSON.stringify(servers));
  const [turn] = servers;
  assert.equal(turn?.urls, [TURN_URL]);
  const username = String(turn?.username);
  const [expiry, userId] = username.split(':');
  assert.ok(Number(expiry) * 1000 > Date.now() + 3_600_000, `expires later: ${username}`);
  assert.is(userId, (await app.users.findByEmail('anna@clinic.example'))?.id);
  assert.is(turn?.credential, createHmac('sha1', TURN_SECRET).update(username).digest('base64'));
  assert.is(configs[0]?.bundlePolicy, 'balanced');

  ring.cancel();
  await ring.response(487, TIMEOUT).catch(() => undefined);
  await page.close();
});

test.run();
