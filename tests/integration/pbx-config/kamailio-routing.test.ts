/**
 * The call path through Kamailio, with the sip app played by the test over its one TCP connection
 * (from SIP_APP_PORT, ";alias" in its Via): trunk calls reach the app, the app reaches registered
 * browsers, and in-dialog requests follow the Record-Route set both ways.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import * as assert from 'uvu/assert';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipTcpEndpoint, type SipEndpoint } from '../../helpers/sip-endpoint.js';
import { cseq, header, headers, nameAddrUri, param, randomToken, type SipMessage } from '../../helpers/sip-message.js';
import { ephemeralCredentials, register } from '../../helpers/sip-register.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { describeSipp, runSipp, type SippResult } from '../../helpers/sipp.js';
import { isChallenge, sendAuthenticatedInvite } from '../../helpers/sip-invite.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';

const SCENARIOS = path.join(REPO_ROOT, 'tests/integration/pbx-config/sipp');
const SDP = [
  'v=0',
  'o=app 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=sendrecv',
  '',
].join('\r\n');

let redis: TestRedis;
let kamailio: TestKamailio;
/** OUTBOUND_TRUNK's socket, bound before Kamailio starts: the only destination of the sip app's callbacks. */
let trunkSocket: dgram.Socket;
let policy: OutboundPolicyStore;
let redisClient: Redis;
let app: SipTcpEndpoint | undefined;
const browsers: SipWsEndpoint[] = [];

test.before(async () => {
  redis = await startTestRedis();
  // Held from here to the end: a port only reserved here and bound by the test later could be taken
  // meanwhile by any process on the machine (rtpengine's media ports share the ephemeral range).
  trunkSocket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => trunkSocket.bind(0, '127.0.0.1', resolve));
  kamailio = await startTestKamailio({ redisUrl: redis.url, outboundTrunk: `127.0.0.1:${trunkSocket.address().port}` });
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  // As the sip app and signaling do at start: the default policy's prefixes, for Kamailio.
  policy = new OutboundPolicyStore(redisClient, 'PL');
  await policy.ensure();
});

test.after(async () => {
  for (const b of browsers) await b.terminate().catch(() => undefined);
  await app?.close();
  await kamailio.stop();
  try {
    trunkSocket.close();
  } catch {
    // the callback test closed it already
  }
  redisClient.disconnect();
  await redis.stop();
});

const appContact = (): string => `sip:sipapp@${kamailio.appHost}:${kamailio.appPort};transport=tcp`;

/** The sip app connects, as it will: from SIP_APP_PORT, and pings Kamailio with OPTIONS. */
async function connectApp(): Promise<SipTcpEndpoint> {
  const endpoint = await SipTcpEndpoint.connect({
    host: kamailio.host,
    port: kamailio.sipPort,
    localAddress: kamailio.appHost,
    localPort: kamailio.appPort,
  });
  const self = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const ping = endpoint.sendRequest({ method: 'OPTIONS', uri: self, from: `sip:sipapp@${kamailio.domain}`, to: self });
  assert.is((await endpoint.finalResponse(ping)).status, 200);
  return endpoint;
}

function trunkCall(scenario: string): Promise<SippResult> {
  return runSipp({
    scenario: path.join(SCENARIOS, scenario),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    keys: { number: '100', domain: kamailio.domain },
  });
}

/** The UAS side's route set: the request's Record-Route values, in order. */
function routeSetAsUas(request: SipMessage): string[] {
  return headers(request, 'record-route').flatMap((v) => v.split(/,(?=\s*<)/).map((r) => r.trim()));
}

/** The UAC side's route set: the response's Record-Route values, reversed. */
function routeSetAsUac(response: SipMessage): string[] {
  return routeSetAsUas(response).reverse();
}

function toTag(m: SipMessage): string | undefined {
  return param(header(m, 'to'), 'tag');
}

function fromTag(m: SipMessage): string | undefined {
  return param(header(m, 'from'), 'tag');
}

test('a trunk call while the sip app is not connected fails at once with 503', async () => {
  const result = await trunkCall('uac-invite-sip-app-not-connected-expect-503.xml');
  assert.is(result.code, 0, describeSipp(result));
});

test('a trunk call reaches the sip app over its connection, unchanged, and its answer goes back', async () => {
  app = await connectApp();
  const call = trunkCall('uac-invite-from-trunk-expect-486.xml');
  const invite = await app.waitForRequest('INVITE', undefined, 10_000);
  assert.match(invite.uri ?? '', /^sip:100@/, 'the dialled number is the R-URI user');
  assert.match(header(invite, 'content-type') ?? '', /application\/sdp/);
  assert.ok(routeSetAsUas(invite).length > 0, 'Kamailio record-routes');
  app.respond(invite, 486, 'Busy Here', { toTag: randomToken(4) });
  const result = await call;
  assert.is(result.code, 0, describeSipp(result));
  // Kamailio acknowledges the 486 itself (hop by hop) and absorbs the trunk's ACK.
  const ack = await app.waitForRequest('ACK', header(invite, 'call-id'));
  assert.is(cseq(ack).number, cseq(invite).number);
});

test("a trunk call answered by the sip app: the ACK and the app's BYE follow the Record-Route set", async () => {
  const endpoint = app ?? (await connectApp());
  const call = trunkCall('uac-invite-from-trunk-answered-expect-bye.xml');
  const invite = await endpoint.waitForRequest('INVITE', undefined, 10_000);
  const callId = header(invite, 'call-id') ?? '';
  const tag = randomToken(4);
  endpoint.respond(invite, 200, 'OK', {
    toTag: tag,
    headers: [
      ['Contact', `<${appContact()}>`],
      ['Content-Type', 'application/sdp'],
    ],
    body: SDP,
  });
  await endpoint.waitForRequest('ACK', callId);
  const patient = nameAddrUri(header(invite, 'contact') ?? '');
  const bye = endpoint.sendRequest({
    method: 'BYE',
    uri: patient,
    from: nameAddrUri(header(invite, 'to') ?? ''),
    fromTag: tag,
    to: nameAddrUri(header(invite, 'from') ?? ''),
    toTag: fromTag(invite),
    callId,
    cseq: 1,
    routes: routeSetAsUas(invite),
  });
  assert.is((await endpoint.finalResponse(bye)).status, 200);
  const result = await call;
  assert.is(result.code, 0, describeSipp(result));
});

async function registeredBrowser(user: string): Promise<SipWsEndpoint> {
  const browser = await SipWsEndpoint.connect(kamailio.wsUrl);
  browsers.push(browser);
  const credentials = await kamailio.browserCredentials(user);
  const { response } = await register(browser, {
    user,
    domain: kamailio.domain,
    ...credentials,
    contact: browser.contact(user),
    expires: 300,
  });
  assert.is(response.status, 200, response.raw);
  return browser;
}

function ringWorkstation(endpoint: SipEndpoint, user: string) {
  return endpoint.sendRequest({
    method: 'INVITE',
    uri: `sip:${user}@${kamailio.domain}`,
    from: `sip:queue@${kamailio.domain}`,
    to: `sip:${user}@${kamailio.domain}`,
    contact: appContact(),
    headers: [['Content-Type', 'application/sdp']],
    body: SDP,
  });
}

test("the sip app rings a browser: INVITE over its WebSocket, answer, ACK, and the browser's BYE back to the app", async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-10');
  const invite = ringWorkstation(endpoint, 'ws-10');
  const incoming = await browser.waitForRequest('INVITE', invite.callId);
  assert.match(incoming.uri ?? '', /\.invalid;transport=ws/, "the R-URI is the browser's registered contact");
  browser.respond(incoming, 180, 'Ringing', { toTag: 'browser1' });
  browser.respond(incoming, 200, 'OK', {
    toTag: 'browser1',
    headers: [
      ['Contact', `<sip:ws10@${browser.viaHost};transport=ws>`],
      ['Content-Type', 'application/sdp'],
    ],
    body: SDP,
  });
  const ok = await endpoint.finalResponse(invite);
  assert.is(ok.status, 200);
  const target = nameAddrUri(header(ok, 'contact') ?? '');
  assert.match(target, /;alias=/, 'Kamailio added where the browser really is');

  const dialog = {
    callId: invite.callId,
    uri: target,
    from: `sip:queue@${kamailio.domain}`,
    fromTag: invite.fromTag,
    to: `sip:ws-10@${kamailio.domain}`,
    toTag: toTag(ok),
    routes: routeSetAsUac(ok),
  };
  endpoint.sendRequest({ ...dialog, method: 'ACK', cseq: invite.cseq });
  await browser.waitForRequest('ACK', invite.callId);

  const bye = browser.sendRequest({
    method: 'BYE',
    uri: nameAddrUri(header(incoming, 'contact') ?? ''),
    callId: invite.callId,
    from: `sip:ws-10@${kamailio.domain}`,
    fromTag: 'browser1',
    to: `sip:queue@${kamailio.domain}`,
    toTag: invite.fromTag,
    cseq: 1,
    routes: routeSetAsUas(incoming),
  });
  const byeAtApp = await endpoint.waitForRequest('BYE', invite.callId);
  endpoint.respond(byeAtApp, 200, 'OK');
  assert.is((await browser.finalResponse(bye)).status, 200);
});

test('the sip app cancels a ringing browser: CANCEL reaches it, the app gets 487', async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-11');
  const invite = ringWorkstation(endpoint, 'ws-11');
  const incoming = await browser.waitForRequest('INVITE', invite.callId);
  browser.respond(incoming, 180, 'Ringing', { toTag: 'browser2' });
  await endpoint.waitFor((m) => m.status === 180 && header(m, 'call-id') === invite.callId, '180 at the app');
  const cancelled = endpoint.sendCancel(invite);
  const cancel = await browser.waitForRequest('CANCEL', invite.callId);
  browser.respond(cancel, 200, 'OK');
  browser.respond(incoming, 487, 'Request Terminated', { toTag: 'browser2' });
  assert.is((await endpoint.finalResponse(cancelled)).status, 200);
  const terminated = await endpoint.finalResponse(invite);
  assert.is(terminated.status, 487);
  // Kamailio acknowledged the 487 to the browser itself.
  await browser.waitForRequest('ACK', invite.callId);
});

test('the sip app rings a workstation that is not registered: 480', async () => {
  const endpoint = app ?? (await connectApp());
  const invite = ringWorkstation(endpoint, 'ws-nobody');
  assert.is((await endpoint.finalResponse(invite)).status, 480);
});

test('a browser whose connection just dropped: 480, not a hang', async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-12');
  await browser.terminate();
  // Kamailio may still think the connection alive when the INVITE comes; then it waits 5 s for a
  // first answer before it gives up.
  const invite = ringWorkstation(endpoint, 'ws-12');
  assert.is((await endpoint.finalResponse(invite, 8000)).status, 480);
});

test('a workstation that does not answer the INVITE at all (a frozen tab): 480 after 5 s', async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-13');
  const started = Date.now();
  const invite = ringWorkstation(endpoint, 'ws-13');
  await browser.waitForRequest('INVITE', invite.callId);
  assert.is((await endpoint.finalResponse(invite, 8000)).status, 480);
  const waited = Date.now() - started;
  assert.ok(waited > 4000 && waited < 7000, `answered after ${waited} ms`);
});

/** A browser tries to place a call itself: INVITE over its WebSocket to the clinic's number. */
function browserCalls(browser: SipWsEndpoint, user: string, authorization?: string) {
  return browser.sendRequest({
    method: 'INVITE',
    uri: `sip:+4915112345678@${kamailio.domain}`,
    from: `sip:${user}@${kamailio.domain}`,
    to: `sip:+4915112345678@${kamailio.domain}`,
    contact: `sip:${user}@${browser.viaHost};transport=ws`,
    headers: [
      ['Content-Type', 'application/sdp'],
      ...(authorization ? [['Proxy-Authorization', authorization] as [string, string]] : []),
    ],
    body: SDP,
  });
}

test('a browser cannot call out through Kamailio: its INVITE is refused 403 and reaches no one, even from a trunk address', async () => {
  const endpoint = app ?? (await connectApp());
  // 127.0.0.1 is a trunk address in this test, as in the default set-up: a WebSocket is never a trunk.
  assert.ok(kamailio.trunkAddresses.includes('127.0.0.1'));
  const stranger = await SipWsEndpoint.connect(kamailio.wsUrl);
  browsers.push(stranger);
  // No workstation, so no credentials from signaling: a user with nothing to show.
  const unauthenticated = browserCalls(stranger, 'ws-nobody');
  assert.is((await stranger.finalResponse(unauthenticated)).status, 403);
  // Forged or expired credentials do not help.
  const forged = ephemeralCredentials('not-the-secret-'.repeat(4), 'ws-14', Math.floor(Date.now() / 1000) + 3600);
  const withForged = browserCalls(
    stranger,
    'ws-14',
    `Digest username="${forged.username}", realm="${kamailio.domain}", nonce="x", uri="sip:${kamailio.domain}", response="00000000000000000000000000000000"`,
  );
  assert.is((await stranger.finalResponse(withForged)).status, 403);
  // Only callback targets (cb-<token>) are open to browsers: a registered workstation calling a number is refused.
  const registered = await registeredBrowser('ws-14');
  const fromRegistered = browserCalls(registered, 'ws-14');
  assert.is((await registered.finalResponse(fromRegistered)).status, 403);

  for (const sent of [unauthenticated, withForged, fromRegistered]) {
    assert.not.ok(
      endpoint.received.some((m) => header(m, 'call-id') === sent.callId),
      'nothing reached the sip app',
    );
  }
});

const PATIENT = '+48601234567';
const WEBRTC_SDP = SDP.replace('RTP/AVP 0', 'UDP/TLS/RTP/SAVPF 111 0');

/** A callback target as signaling hands it out: cb- and 32 hex digits. */
function callbackTarget(token = randomToken(16)): string {
  return `sip:cb-${token}@${kamailio.domain}`;
}

function browserCredentials(user: string) {
  return kamailio.browserCredentials(user);
}

/** A browser's callback INVITE as JsSIP sends it, answering Kamailio's challenge with `credentials`. */
function callBack(
  browser: SipWsEndpoint,
  target: string,
  fromUser: string,
  credentials: { username: string; password: string },
) {
  return sendAuthenticatedInvite(
    browser,
    {
      uri: target,
      from: `sip:${fromUser}@${kamailio.domain}`,
      to: target,
      contact: `sip:${fromUser}@${browser.viaHost};transport=ws`,
      headers: [['Content-Type', 'application/sdp']],
      body: WEBRTC_SDP,
    },
    credentials,
  );
}

test("a browser's INVITE to a callback target without credentials is challenged (407), not refused", async () => {
  const browser = await registeredBrowser('ws-20');
  const target = callbackTarget();
  const sent = browser.sendRequest({
    method: 'INVITE',
    uri: target,
    from: `sip:ws-20@${kamailio.domain}`,
    to: target,
    contact: `sip:ws-20@${browser.viaHost};transport=ws`,
    headers: [['Content-Type', 'application/sdp']],
    body: WEBRTC_SDP,
  });
  const challenge = await browser.finalResponse(sent);
  assert.ok(isChallenge(challenge, kamailio.domain), challenge.raw);
  assert.is(challenge.status, 407);
});

test("a browser's INVITE to a number, to a workstation, to cb- with a token that is not 32 lowercase hex digits, to another domain, or with another user's credentials is refused 403 and reaches no one", async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-21');
  const own = await browserCredentials('ws-21');
  const refused: string[] = [];
  for (const target of [
    `sip:cb-${randomToken(15)}@${kamailio.domain}`,
    `sip:cb-${randomToken(16).toUpperCase()}@${kamailio.domain}`,
    `sip:cb-${randomToken(16)}0@${kamailio.domain}`,
    `sip:cb-${randomToken(16)}@example.com`,
    `sip:${PATIENT}@${kamailio.domain}`,
    `sip:ws-10@${kamailio.domain}`,
  ]) {
    const { challenge } = await callBack(browser, target, 'ws-21', own);
    assert.is(challenge.status, 403, `${target}: ${challenge.startLine}`);
    refused.push(header(challenge, 'call-id') ?? '');
  }
  // ws-22's credentials, but From says ws-21: the workstation named in the grant must be the caller.
  const other = await callBack(browser, callbackTarget(), 'ws-21', await browserCredentials('ws-22'));
  assert.ok(other.invite, 'challenged first');
  assert.is((await browser.finalResponse(other.invite)).status, 403);
  refused.push(other.invite.callId);
  // Forged credentials.
  const forged = await callBack(
    browser,
    callbackTarget(),
    'ws-21',
    ephemeralCredentials('not-the-secret-'.repeat(4), 'ws-21', Math.floor(Date.now() / 1000) + 3600),
  );
  assert.is((await browser.finalResponse(forged.invite!)).status, 403);
  refused.push(forged.invite!.callId);
  // Expired credentials.
  const expired = await callBack(
    browser,
    callbackTarget(),
    'ws-21',
    ephemeralCredentials(kamailio.secret, 'ws-21', Math.floor(Date.now() / 1000) - 60),
  );
  assert.is((await browser.finalResponse(expired.invite!)).status, 403);
  refused.push(expired.invite!.callId);
  for (const callId of refused) {
    assert.not.ok(
      endpoint.received.some((m) => header(m, 'call-id') === callId),
      'nothing reached the sip app',
    );
  }
});

test("a callback: the browser's authenticated INVITE reaches the sip app, the app's INVITE reaches the outbound trunk, and ACK and BYE follow both dialogs", async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-23');
  const trunk = SipUdpEndpoint.adopt(trunkSocket, kamailio.host, kamailio.sipPort);
  try {
    const target = callbackTarget();
    const { challenge, invite } = await callBack(browser, target, 'ws-23', await browserCredentials('ws-23'));
    assert.is(challenge.status, 407);
    assert.ok(invite);
    const atApp = await endpoint.waitForRequest('INVITE', invite.callId);
    assert.is(atApp.uri, target, 'the R-URI reaches the app unchanged');
    assert.not.ok(header(atApp, 'proxy-authorization'), 'Kamailio consumed the credentials');
    assert.ok(routeSetAsUas(atApp).length > 0, 'Kamailio record-routes');

    // The sip app calls the patient: R-URI sip:<number>@<trunk host:port>, authorized in Redis.
    const trunkUri = `sip:${PATIENT}@127.0.0.1:${trunk.localPort}`;
    const callId = `cb-${randomToken(8)}`;
    await policy.authorizeCall(callId, PATIENT);
    const out = endpoint.sendRequest({
      callId,
      method: 'INVITE',
      uri: trunkUri,
      from: `sip:100@${kamailio.domain}`,
      to: trunkUri,
      contact: appContact(),
      headers: [['Content-Type', 'application/sdp']],
      body: SDP,
    });
    const atTrunk = await trunk.waitForRequest('INVITE', out.callId).catch((err: Error) => {
      // What Kamailio made of it (TO_TRUNK says why it refused, or that Redis did not answer).
      const answers = endpoint.received
        .filter((m) => header(m, 'call-id') === out.callId)
        .map((m) => `${m.status} ${m.reason}`);
      const logged = kamailio.log.filter((line) => line.includes(out.callId));
      throw new Error(
        `${err.message}\n  the app got: ${answers.join(', ') || 'nothing'}\n  Kamailio logged: ${logged.join('\n    ') || 'nothing'}`,
      );
    });
    assert.is(atTrunk.uri, trunkUri);
    assert.ok(routeSetAsUas(atTrunk).length > 0, 'Kamailio record-routes the outbound leg');
    trunk.respond(atTrunk, 180, 'Ringing', { toTag: 'patient1' });
    await endpoint.waitFor((m) => m.status === 180 && header(m, 'call-id') === out.callId, '180 at the app');
    trunk.respond(atTrunk, 200, 'OK', {
      toTag: 'patient1',
      headers: [
        ['Contact', `<sip:${PATIENT}@127.0.0.1:${trunk.localPort}>`],
        ['Content-Type', 'application/sdp'],
      ],
      body: SDP,
    });
    const trunkOk = await endpoint.finalResponse(out);
    assert.is(trunkOk.status, 200);
    endpoint.sendRequest({
      method: 'ACK',
      uri: nameAddrUri(header(trunkOk, 'contact') ?? ''),
      callId: out.callId,
      from: `sip:100@${kamailio.domain}`,
      fromTag: out.fromTag,
      to: trunkUri,
      toTag: 'patient1',
      cseq: out.cseq,
      routes: routeSetAsUac(trunkOk),
    });
    await trunk.waitForRequest('ACK', out.callId);

    // The app answers the browser, which ACKs through Kamailio.
    endpoint.respond(atApp, 200, 'OK', {
      toTag: 'app1',
      headers: [
        ['Contact', `<${appContact()}>`],
        ['Content-Type', 'application/sdp'],
      ],
      body: WEBRTC_SDP,
    });
    const browserOk = await browser.finalResponse(invite);
    assert.is(browserOk.status, 200);
    browser.sendRequest({
      method: 'ACK',
      uri: nameAddrUri(header(browserOk, 'contact') ?? ''),
      callId: invite.callId,
      from: `sip:ws-23@${kamailio.domain}`,
      fromTag: invite.fromTag,
      to: target,
      toTag: 'app1',
      cseq: invite.cseq,
      routes: routeSetAsUac(browserOk),
    });
    await endpoint.waitForRequest('ACK', invite.callId);

    // The patient hangs up: BYE along the route set to the app; the app's BYE reaches the browser.
    const patientBye = trunk.sendRequest({
      method: 'BYE',
      uri: nameAddrUri(header(atTrunk, 'contact') ?? ''),
      callId: out.callId,
      from: trunkUri,
      fromTag: 'patient1',
      to: `sip:100@${kamailio.domain}`,
      toTag: out.fromTag,
      cseq: 1,
      routes: routeSetAsUas(atTrunk),
    });
    endpoint.respond(await endpoint.waitForRequest('BYE', out.callId), 200, 'OK');
    assert.is((await trunk.finalResponse(patientBye)).status, 200);
    const appBye = endpoint.sendRequest({
      method: 'BYE',
      uri: nameAddrUri(header(atApp, 'contact') ?? ''),
      callId: invite.callId,
      from: target,
      fromTag: 'app1',
      to: `sip:ws-23@${kamailio.domain}`,
      toTag: invite.fromTag,
      cseq: 1,
      routes: routeSetAsUas(atApp),
    });
    browser.respond(await browser.waitForRequest('BYE', invite.callId), 200, 'OK');
    assert.is((await endpoint.finalResponse(appBye)).status, 200);
  } finally {
    await trunk.close();
  }
});

test('the sip app refuses a callback with 503 (no outbound trunk): the browser gets that 503 and its reason, not the 500 tm would make of it', async () => {
  const endpoint = app ?? (await connectApp());
  const browser = await registeredBrowser('ws-25');
  const { invite } = await callBack(browser, callbackTarget(), 'ws-25', await browserCredentials('ws-25'));
  assert.ok(invite);
  const atApp = await endpoint.waitForRequest('INVITE', invite.callId);
  endpoint.respond(atApp, 503, 'No outbound trunk configured', { toTag: 'app2' });
  const response = await browser.finalResponse(invite);
  assert.is(response.status, 503);
  assert.is(response.reason, 'No outbound trunk configured');
});

test('nobody but the sip app can relay to another host: not a browser, not an untrusted address, and the app only with an INVITE', async () => {
  const endpoint = app ?? (await connectApp());
  const trunk = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  const stranger = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort, '127.0.0.2');
  const browser = await registeredBrowser('ws-24');
  try {
    const trunkUri = `sip:${PATIENT}@127.0.0.1:${trunk.localPort}`;
    const fromStranger = stranger.sendRequest({
      method: 'INVITE',
      uri: trunkUri,
      from: 'sip:x@127.0.0.2',
      to: trunkUri,
      contact: `sip:x@127.0.0.2:${stranger.localPort}`,
      headers: [['Content-Type', 'application/sdp']],
      body: SDP,
    });
    assert.is((await stranger.finalResponse(fromStranger)).status, 403);
    const fromBrowser = await callBack(browser, trunkUri, 'ws-24', await browserCredentials('ws-24'));
    assert.is(fromBrowser.challenge.status, 403);
    const message = endpoint.sendRequest({
      method: 'MESSAGE',
      uri: trunkUri,
      from: `sip:100@${kamailio.domain}`,
      to: trunkUri,
      headers: [['Content-Type', 'text/plain']],
      body: 'hello',
    });
    assert.is((await endpoint.finalResponse(message)).status, 403);
    assert.is(trunk.received.length, 0, 'nothing reached the trunk');
  } finally {
    await trunk.close();
    await stranger.close();
  }
});

test.run();
