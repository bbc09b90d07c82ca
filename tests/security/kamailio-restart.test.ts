/**
 * A Kamailio restart forgets every dialog, yet the dialogs set up before it go on: their in-dialog
 * requests carry Kamailio's signed Record-Route (dlt, dls: pbx-config/README.md, "In-dialog requests
 * after a restart"), which it checks instead of its memory. An attacker gains nothing from that: a
 * forged, altered, expired or borrowed signature, a Route that is not Kamailio's, and an in-dialog
 * request with no Route at all are refused as before the restart, and nothing reaches the target.
 * Real Redis and Kamailio (killed with SIGKILL and started again on the same ports); the sip app is
 * played by a TCP endpoint on its address, the trunk by a UDP endpoint on 127.0.0.1.
 */
import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { routeSignature, startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { SipUdpEndpoint, type SentRequest } from '../helpers/sip-endpoint.js';
import { randomToken } from '../helpers/sip-message.js';
import { waitFor } from '../helpers/wait.js';
import { answeredTrunkCall as answeredTrunkCallThrough, type TrunkDialog } from '../helpers/trunk-call.js';
import { WorkstationRinger } from '../helpers/workstation-ringer.js';

const ATTACKER = '127.0.0.6';
/** DIALOG_MAX_SECONDS in kamailio.cfg: no dialog lives longer, so no signature is good for longer. */
const DIALOG_MAX_SECONDS = 43200;

let redis: TestRedis;
let kamailio: TestKamailio;
let app: WorkstationRinger;
let trunk: SipUdpEndpoint;
let attacker: SipUdpEndpoint;
/** Where an open relay would deliver: counts every datagram. */
let target: { port: number; received: string[]; close: () => void };

interface Dialog extends TrunkDialog {
  /** The trunk's last CSeq. */
  cseq: number;
}

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  app = await WorkstationRinger.connect(kamailio);
  trunk = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  attacker = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort, ATTACKER);
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  target = { port: socket.address().port, received, close: () => socket.close() };
});

test.after(async () => {
  target?.close();
  await attacker?.close();
  await trunk?.close();
  await app?.close();
  await kamailio?.stop();
  await redis?.stop();
});

const appContact = (): string => `sip:deskline@${kamailio.appHost}:${kamailio.appPort};transport=tcp`;

/** A patient's call from the trunk, answered by the sip app and confirmed (ACK). */
async function answeredTrunkCall(): Promise<Dialog> {
  const dialog = await answeredTrunkCallThrough(kamailio, trunk, app.endpoint, { ack: true });
  return { ...dialog, cseq: dialog.sent.cseq };
}

/** An in-dialog request of the trunk's dialog, with `change` applied to what it would send. */
function fromTrunk(
  dialog: Dialog,
  method: string,
  change: {
    routes?: string[];
    callId?: string;
    uri?: string;
    fromTag?: string;
    toTag?: string;
    from?: SipUdpEndpoint;
  } = {},
): SentRequest {
  dialog.cseq += 1;
  const sender = change.from ?? trunk;
  return sender.sendRequest({
    method,
    uri: change.uri ?? appContact(),
    from: `sip:+48600100200@${kamailio.domain}`,
    to: `sip:100@${kamailio.domain}`,
    callId: change.callId ?? dialog.sent.callId,
    fromTag: change.fromTag ?? dialog.sent.fromTag,
    toTag: change.toTag ?? dialog.toTag,
    cseq: dialog.cseq,
    routes: change.routes ?? dialog.routes,
    contact: `sip:patient@${sender.localAddress}:${sender.localPort}`,
  });
}

/** The trunk's request reaches the sip app, which answers 200, and the 200 gets back. */
async function reachesApp(sender: SipUdpEndpoint, sent: SentRequest): Promise<void> {
  const arrived = await app.endpoint.waitForRequest(sent.method, sent.callId);
  app.endpoint.respond(arrived, 200, 'OK');
  assert.is((await sender.finalResponse(sent)).status, 200, `${sent.method} answered by the sip app`);
}

async function refused(sender: SipUdpEndpoint, sent: SentRequest, status: number, what: string): Promise<void> {
  const response = await sender.finalResponse(sent);
  assert.is(response.status, status, `${what}: ${response.startLine}`);
}

function withParam(route: string, name: string, value: string): string {
  return route.replace(new RegExp(`;${name}=[^;>]*`), `;${name}=${value}`);
}

function paramOf(route: string, name: string): string {
  const value = new RegExp(`;${name}=([^;>]*)`).exec(route)?.[1];
  assert.ok(value, `${name} in ${route}`);
  return value;
}

let before: Dialog;
let other: Dialog;
let restartedAt = 0;

test('the dialogs Kamailio sets up carry a signed Record-Route', async () => {
  before = await answeredTrunkCall();
  other = await answeredTrunkCall();
  for (const route of before.routes) {
    assert.match(paramOf(route, 'dlt'), /^[0-9]{10}$/);
    assert.match(paramOf(route, 'dls'), /^[0-9a-f]{32}$/);
  }
  const first = before.routes[0] as string;
  // The signature is the one the helper computes: the expired ones below are made the same way.
  assert.is(
    paramOf(first, 'dls'),
    routeSignature(kamailio.secret, before.sent.callId, before.sent.fromTag, Number(paramOf(first, 'dlt'))),
  );
});

test('after a SIGKILL and a restart, both sides of a dialog set up before it reach each other, in both directions', async () => {
  const { downMs } = await kamailio.restart();
  restartedAt = Math.floor(Date.now() / 1000);
  console.log(`  Kamailio killed and answering again after ${downMs} ms`);
  await app.close();
  app = await WorkstationRinger.connect(kamailio);
  // As the sip app does on each connect: an OPTIONS to Kamailio, answered once it holds the connection.
  const self = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const ping = app.endpoint.sendRequest({ method: 'OPTIONS', uri: self, from: appContact(), to: self });
  assert.is((await app.endpoint.finalResponse(ping)).status, 200);

  await reachesApp(trunk, fromTrunk(before, 'OPTIONS'));
  await reachesApp(trunk, fromTrunk(before, 'INVITE'));
  await reachesApp(trunk, fromTrunk(before, 'UPDATE'));
  // The sip app's own requests (its keepalive, its BYE) reach the patient through the same routes.
  for (const [index, method] of ['OPTIONS', 'BYE'].entries()) {
    const sent = app.endpoint.sendRequest({
      method,
      uri: `sip:patient@127.0.0.1:${trunk.localPort}`,
      from: `sip:100@${kamailio.domain}`,
      fromTag: before.toTag,
      to: `sip:+48600100200@${kamailio.domain}`,
      toTag: before.sent.fromTag,
      callId: before.sent.callId,
      cseq: 10 + index,
      routes: before.appRoutes,
      contact: appContact(),
    });
    const arrived = await trunk.waitForRequest(method, before.sent.callId);
    trunk.respond(arrived, 200, 'OK');
    assert.is((await app.endpoint.finalResponse(sent)).status, 200, `the sip app's ${method} answered by the patient`);
  }
});

test("a forged or altered signature, a borrowed Route, a Route that is not Kamailio's: 404, and nothing is relayed", async () => {
  const first = other.routes[0] as string;
  const signature = paramOf(first, 'dls');
  const time = Number(paramOf(first, 'dlt'));
  const flipped = `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`;
  const cases: Array<[string, Parameters<typeof fromTrunk>[2]]> = [
    ['a made-up signature', { routes: other.routes.map((r) => withParam(r, 'dls', randomToken(16).slice(0, 32))) }],
    ['one hex digit changed', { routes: other.routes.map((r) => withParam(r, 'dls', flipped)) }],
    ['the time changed', { routes: other.routes.map((r) => withParam(r, 'dlt', String(time - 1))) }],
    ['no signature', { routes: other.routes.map((r) => r.replace(/;dls=[^;>]*/, '')) }],
    ["another call's Route with this Call-ID", { callId: `${randomToken(10)}@elsewhere`, routes: before.routes }],
    ['this Route with another Call-ID', { callId: `${randomToken(10)}@elsewhere` }],
    ['this Route with neither of its tags', { fromTag: randomToken(4), toTag: randomToken(4) }],
    [
      'this signature behind a Route of someone else',
      { routes: [first.replace(`${kamailio.host}:${kamailio.sipPort}`, `127.0.0.1:${target.port}`)] },
    ],
    ['no Route at all, to the trunk', { routes: [], uri: `sip:+19005550123@127.0.0.1:${target.port}` }],
  ];
  for (const [what, change] of cases) {
    await refused(attacker, fromTrunk(other, 'INVITE', { ...change, from: attacker }), 404, what);
  }
  // From the trunk itself, no Route and a Request-URI elsewhere: not the sip app, not relayed.
  await refused(
    trunk,
    fromTrunk(other, 'INVITE', { routes: [], uri: `sip:+19005550123@127.0.0.1:${target.port}` }),
    404,
    'the trunk, without a Route, to elsewhere',
  );
  // A good signature from an untrusted address still only reaches the sip app, never elsewhere.
  await refused(
    attacker,
    fromTrunk(other, 'INVITE', { from: attacker, uri: `sip:+19005550123@127.0.0.1:${target.port}` }),
    403,
    'a signed Route to elsewhere',
  );
  assert.equal(target.received, [], 'nothing reached the other target');
  await reachesApp(trunk, fromTrunk(other, 'OPTIONS'));
});

test('an expired signature, one dated after the restart, and the Route of a dialog that ended since: 404', async () => {
  const { callId } = other.sent;
  const tag = other.sent.fromTag;
  const signed = (time: number): string[] =>
    other.routes.map((r) =>
      withParam(withParam(r, 'dlt', String(time)), 'dls', routeSignature(kamailio.secret, callId, tag, time)),
    );
  const now = Math.floor(Date.now() / 1000);
  // The control: the helper's signature, dated before the restart, goes through.
  await reachesApp(trunk, fromTrunk(other, 'OPTIONS', { routes: signed(now - 3600) }));
  await refused(
    attacker,
    fromTrunk(other, 'INVITE', { from: attacker, routes: signed(now - DIALOG_MAX_SECONDS - 60) }),
    404,
    'signed longer ago than any dialog lives',
  );
  await refused(
    attacker,
    fromTrunk(other, 'INVITE', { from: attacker, routes: signed(restartedAt + 5) }),
    404,
    'signed after this Kamailio started',
  );

  // A dialog set up after the restart and hung up: the dialog module forgot it, and so must the signature.
  // (It keeps a dialog for the BYE transaction's wait timer, 5 s: until then, a request for it that
  // names anyone but the sip app gets 403 instead.)
  // (Kamailio knows its start to the second: a dialog begun within that second counts as before it.)
  await waitFor('the second after the restart', () => Math.floor(Date.now() / 1000) > restartedAt, 2_000);
  const ended = await answeredTrunkCall();
  await reachesApp(trunk, fromTrunk(ended, 'BYE'));
  const elsewhere = `sip:+19005550123@127.0.0.1:${target.port}`;
  const status = await waitFor(
    'Kamailio to forget the dialog that ended',
    async () => {
      const response = await trunk.finalResponse(fromTrunk(ended, 'INVITE', { uri: elsewhere }));
      return response.status === 403 ? undefined : response.status;
    },
    15_000,
  );
  assert.is(status, 404, 'the Route of a dialog that ended');
  await refused(
    attacker,
    fromTrunk(ended, 'INVITE', { from: attacker }),
    404,
    'the Route of a dialog that ended, to the sip app',
  );
  assert.equal(target.received, [], 'nothing reached the other target');
});

test('a trunk that ignores Record-Route: its BYE without a Route still reaches the sip app after the restart (only the sip app)', async () => {
  const sent = fromTrunk(before, 'BYE', { routes: [] });
  await reachesApp(trunk, sent);
});

test.run();
