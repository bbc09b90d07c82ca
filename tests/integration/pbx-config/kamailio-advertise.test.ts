/**
 * Kamailio behind NAT (SIP_ADVERTISE, docs/operations.md "NAT"): a carrier on the internet must see
 * the clinic's public address in Kamailio's Via and Record-Route, and its in-call requests, sent to
 * that address, must still be recognised as Kamailio's own and routed: the ACK to the sip app, and
 * the sip app's BYE back to the carrier. The carrier is sipp; the sip app is played by the test.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipTcpEndpoint } from '../../helpers/sip-endpoint.js';
import { header, headers, nameAddrUri, param, randomToken, type SipMessage } from '../../helpers/sip-message.js';
import { describeSipp, runSipp } from '../../helpers/sipp.js';

const PUBLIC = '203.0.113.7';
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
let app: SipTcpEndpoint;

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url, advertise: PUBLIC });
  app = await SipTcpEndpoint.connect({
    host: kamailio.host,
    port: kamailio.sipPort,
    localAddress: kamailio.appHost,
    localPort: kamailio.appPort,
  });
  const self = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const ping = app.sendRequest({ method: 'OPTIONS', uri: self, from: `sip:sipapp@${kamailio.domain}`, to: self });
  assert.is((await app.finalResponse(ping)).status, 200);
});

test.after(async () => {
  await app?.close();
  await kamailio?.stop();
  await redis?.stop();
});

function routeSet(request: SipMessage): string[] {
  return headers(request, 'record-route').flatMap((v) => v.split(/,(?=\s*<)/).map((r) => r.trim()));
}

test('Kamailio starts listening with the public address advertised', () => {
  assert.ok(
    kamailio.log.some((line) => line.includes(`advertise ${PUBLIC}:${kamailio.sipPort}`)),
    'the listen lines name the public address',
  );
});

test("a carrier call: Record-Route carries the public address, and the ACK and the sip app's BYE still route", async () => {
  const call = runSipp({
    scenario: path.join(SCENARIOS, 'uac-invite-from-trunk-answered-expect-bye.xml'),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    keys: { number: '100', domain: kamailio.domain },
  });
  const invite = await app.waitForRequest('INVITE', undefined, 10_000);
  const routes = routeSet(invite);
  // Two entries (UDP on the carrier's side, TCP on the sip app's): the carrier's names the public
  // address; the sip app's connection is local and keeps the local one.
  const carrierSide = routes.filter((route) => !route.includes('transport=tcp'));
  assert.is(carrierSide.length, 1, routes.join(' | '));
  assert.ok(
    carrierSide[0]?.includes(`sip:${PUBLIC}:${kamailio.sipPort}`),
    `the carrier's Record-Route ${carrierSide[0]} names the public address`,
  );
  const callId = header(invite, 'call-id') ?? '';
  const tag = randomToken(4);
  app.respond(invite, 200, 'OK', {
    toTag: tag,
    headers: [
      ['Contact', `<sip:sipapp@${kamailio.appHost}:${kamailio.appPort};transport=tcp>`],
      ['Content-Type', 'application/sdp'],
    ],
    body: SDP,
  });
  await app.waitForRequest('ACK', callId);
  const bye = app.sendRequest({
    method: 'BYE',
    uri: nameAddrUri(header(invite, 'contact') ?? ''),
    from: nameAddrUri(header(invite, 'to') ?? ''),
    fromTag: tag,
    to: nameAddrUri(header(invite, 'from') ?? ''),
    toTag: param(header(invite, 'from'), 'tag'),
    callId,
    cseq: 1,
    routes,
  });
  assert.is((await app.finalResponse(bye)).status, 200);
  const result = await call;
  assert.is(result.code, 0, describeSipp(result));
});

test.run();
