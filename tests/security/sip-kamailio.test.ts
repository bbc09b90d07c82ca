/**
 * Kamailio as an attacker meets it (docs/security.md, "SIP: credentials, Kamailio and scanners"):
 * WebSocket connections capped per address, in-dialog requests that can only reach the sip app, and
 * callback targets that only browsers' authenticated INVITEs reach, whatever X-Deskline-* header
 * anyone forges. Real Redis and Kamailio; the sip app is played by a TCP endpoint on its address.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { REPO_ROOT } from '../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { SipUdpEndpoint } from '../helpers/sip-endpoint.js';
import { header, headers, randomToken, type SipMessage } from '../helpers/sip-message.js';
import { register } from '../helpers/sip-register.js';
import { sendAuthenticatedInvite } from '../helpers/sip-invite.js';
import { SipWsEndpoint } from '../helpers/sip-ws.js';
import { describeSipp, runSipp } from '../helpers/sipp.js';
import { answeredTrunkCall as answeredTrunkCallThrough } from '../helpers/trunk-call.js';
import { WorkstationRinger } from '../helpers/workstation-ringer.js';
import { waitFor } from '../helpers/wait.js';

const SCENARIOS = path.join(REPO_ROOT, 'tests/security/sipp');
/** Small, so that the test opens a few more than allowed; deployments use 150 (docs/security.md). */
const MAX_WS = 8;
const ATTACKER = '127.0.0.2';

let redis: TestRedis;
let kamailio: TestKamailio;
let app: WorkstationRinger;
const sockets: SipWsEndpoint[] = [];

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url, wsMaxConnectionsPerAddress: MAX_WS });
  app = await WorkstationRinger.connect(kamailio);
});

test.after(async () => {
  for (const socket of sockets) await socket.terminate().catch(() => undefined);
  await app?.close();
  await kamailio?.stop();
  await redis?.stop();
});

async function connect(localAddress?: string, forwardedFor?: string): Promise<SipWsEndpoint> {
  const socket = await SipWsEndpoint.connect(kamailio.wsUrl, 2000, {
    ...(localAddress ? { localAddress } : {}),
    ...(forwardedFor ? { headers: { 'X-Forwarded-For': forwardedFor } } : {}),
  });
  sockets.push(socket);
  return socket;
}

async function refused(localAddress: string, forwardedFor?: string): Promise<boolean> {
  try {
    await connect(localAddress, forwardedFor);
    return false;
  } catch (error) {
    assert.match(String(error), /503/);
    return true;
  }
}

async function registeredBrowser(user: string): Promise<SipWsEndpoint> {
  const socket = await connect();
  socket.answerAutomatically('OPTIONS', 200, 'OK');
  const { response } = await register(socket, {
    user,
    domain: kamailio.domain,
    ...(await kamailio.browserCredentials(user)),
    contact: socket.contact(user),
    expires: 120,
  });
  assert.is(response.status, 200, response.raw);
  return socket;
}

/** The sip app rings `user`: resolves once the browser got the INVITE (it answers 486). */
async function rings(user: string, browser: SipWsEndpoint): Promise<void> {
  const call = app.prepare({ user, from: '+48600100200' }).invite();
  const invite = await browser.waitForRequest('INVITE', call.callId);
  browser.respond(invite, 486, 'Busy Here');
  assert.is((await call.response()).status, 486);
}

test(`more than ${MAX_WS} WebSocket connections from one address are refused; others are unaffected; closed ones are freed`, async () => {
  const browser = await registeredBrowser('ws-before');
  const attackers: SipWsEndpoint[] = [];
  for (let i = 0; i < MAX_WS; i += 1) attackers.push(await connect(ATTACKER));
  for (let i = 0; i < 3; i += 1)
    assert.ok(await refused(ATTACKER), `connection ${MAX_WS + i + 1} from ${ATTACKER} is refused`);

  // The registered browser, a new browser from another address and the sip app go on working.
  await rings('ws-before', browser);
  const another = await registeredBrowser('ws-after');
  await rings('ws-after', another);

  // A closed connection is counted off: its address may open one again.
  await attackers[0]?.close();
  const reopened = await waitFor("a connection from the attacker's address once one closed", async () => {
    try {
      return await connect(ATTACKER);
    } catch {
      return undefined;
    }
  });
  assert.ok(reopened);
  assert.ok(await refused(ATTACKER), 'and the cap holds again');
});

test('behind the reverse proxy on this machine, each client is counted by X-Forwarded-For; nobody else can claim one', async () => {
  // Caddy runs on the host and sets X-Forwarded-For to the client it serves.
  for (let i = 0; i < MAX_WS; i += 1) await connect('127.0.0.1', '203.0.113.9');
  assert.ok(
    await refused('127.0.0.1', '203.0.113.9'),
    `connection ${MAX_WS + 1} of client 203.0.113.9 through the proxy is refused`,
  );
  assert.ok(
    await connect('127.0.0.1', '198.51.100.7, 203.0.113.10'),
    'another client through the proxy is not (the address the proxy appended counts)',
  );
  // The attacker's address is full (the test above): a forged X-Forwarded-For from elsewhere does not help.
  assert.ok(
    await refused(ATTACKER, '198.51.100.1'),
    'X-Forwarded-For from an address that is not this machine is ignored',
  );
});

/** A UDP socket that counts what arrives: where an open relay would deliver. */
async function counter(): Promise<{ port: number; received: string[]; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, received, close: () => socket.close() };
}

/** A patient's call from the trunk (127.0.0.1), answered by the sip app: the trunk's dialog. */
function answeredTrunkCall(trunk: SipUdpEndpoint) {
  return answeredTrunkCallThrough(kamailio, trunk, app.endpoint);
}

test('in-dialog requests from a trunk or a browser reach only the sip app, never a Request-URI elsewhere', async () => {
  const target = await counter();
  const trunk = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  try {
    const { sent, toTag, routes } = await answeredTrunkCall(trunk);
    // The BYE last: the dialog module ends its record of a dialog on any BYE that matches it.
    for (const method of ['INVITE', 'MESSAGE', 'BYE']) {
      const elsewhere = trunk.sendRequest({
        method,
        uri: `sip:victim@127.0.0.1:${target.port}`,
        from: `sip:+48600100200@${kamailio.domain}`,
        to: `sip:100@${kamailio.domain}`,
        callId: sent.callId,
        fromTag: sent.fromTag,
        toTag,
        cseq: sent.cseq + 1,
        routes,
        contact: `sip:patient@127.0.0.1:${trunk.localPort}`,
      });
      assert.is((await trunk.finalResponse(elsewhere)).status, 403, `${method} with a Request-URI elsewhere`);
    }
    // Another call's BYE to the sip app's Contact gets there.
    const second = await answeredTrunkCall(trunk);
    const bye = trunk.sendRequest({
      method: 'BYE',
      uri: `sip:deskline@${kamailio.appHost}:${kamailio.appPort};transport=tcp`,
      from: `sip:+48600100200@${kamailio.domain}`,
      to: `sip:100@${kamailio.domain}`,
      callId: second.sent.callId,
      fromTag: second.sent.fromTag,
      toTag: second.toTag,
      cseq: second.sent.cseq + 1,
      routes: second.routes,
    });
    const arrived = await app.endpoint.waitForRequest('BYE', second.sent.callId);
    app.endpoint.respond(arrived, 200, 'OK');
    assert.is((await trunk.finalResponse(bye)).status, 200);
    // A round trip through Kamailio after the refused ones: anything relayed would be here by now.
    assert.equal(target.received, [], 'nothing reached the other target');
  } finally {
    target.close();
    await trunk.close();
  }
});

test("a trunk's INVITE to a callback target is refused with 403, its forged X-Deskline-Callback-By too (sipp)", async () => {
  const result = await runSipp({
    scenario: path.join(SCENARIOS, 'uac-trunk-invite-callback-target-expect-403.xml'),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    keys: { number: `cb-${randomToken(16)}`, domain: kamailio.domain, forged: 'ws-reception-1' },
  });
  assert.is(result.code, 0, describeSipp(result));
});

test("X-Deskline-* headers from anyone but the sip app are removed; a browser's callback carries only Kamailio's", async () => {
  const trunk = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  try {
    const sent = trunk.sendRequest({
      method: 'INVITE',
      uri: `sip:100@${kamailio.domain}`,
      from: `sip:+48600100200@${kamailio.domain}`,
      to: `sip:100@${kamailio.domain}`,
      contact: `sip:patient@127.0.0.1:${trunk.localPort}`,
      headers: [
        ['X-Deskline-Callback-By', 'ws-reception-1'],
        ['x-deskline-call-id', 'forged'],
        ['Content-Type', 'application/sdp'],
      ],
      body: 'v=0\r\n',
    });
    const invite: SipMessage = await app.endpoint.waitForRequest('INVITE', sent.callId);
    assert.not.ok(/^x-deskline-/im.test(invite.raw), `no X-Deskline-* header reached the sip app:\n${invite.raw}`);
    app.endpoint.respond(invite, 486, 'Busy Here');
    await trunk.finalResponse(sent);
  } finally {
    await trunk.close();
  }

  const user = 'ws-reception-2';
  const browser = await connect();
  const target = `sip:cb-${randomToken(16)}@${kamailio.domain}`;
  const { invite } = await sendAuthenticatedInvite(
    browser,
    {
      uri: target,
      from: `sip:${user}@${kamailio.domain}`,
      to: target,
      contact: browser.contact(user),
      headers: [
        ['X-Deskline-Callback-By', 'ws-reception-1'],
        ['Content-Type', 'application/sdp'],
      ],
      body: 'v=0\r\n',
    },
    await kamailio.browserCredentials(user),
  );
  assert.ok(invite);
  const arrived = await app.endpoint.waitForRequest('INVITE', invite.callId);
  assert.equal(
    headers(arrived, 'x-deskline-callback-by'),
    [user],
    "only Kamailio's header, naming the authenticated user",
  );
  assert.is(header(arrived, 'x-deskline-callback-by'), user);
  app.endpoint.respond(arrived, 404, 'Not Found');
  await browser.finalResponse(invite);
});

test.run();
