/**
 * Kamailio as the clinic's front door on the network: only the trunk may bring calls in, scanners
 * hear nothing, floods get cut off, routing through it needs a dialog it saw, and garbage does not
 * bring it down.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { register } from '../../helpers/sip-register.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { header, newBranch, randomToken, serialize } from '../../helpers/sip-message.js';
import { describeSipp, runSipp } from '../../helpers/sipp.js';

const SCENARIOS = path.join(REPO_ROOT, 'tests/integration/pbx-config/sipp');
// The trunk is 127.0.0.1; every other loopback address is "the internet".
const TRUNK = '127.0.0.1';
/** A large clinic's desks: their re-registration is well over pike's limit for one address. */
const DESKS = 100;

let redis: TestRedis;
let kamailio: TestKamailio;
const endpoints: SipUdpEndpoint[] = [];

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url, trunkAddresses: [TRUNK] });
});

test.after(async () => {
  for (const endpoint of endpoints) await endpoint.close();
  await kamailio.stop();
  await redis.stop();
});

async function udpFrom(address: string): Promise<SipUdpEndpoint> {
  const endpoint = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort, address);
  endpoints.push(endpoint);
  return endpoint;
}

function options(endpoint: SipUdpEndpoint, headers: [string, string][] = []) {
  const target = `sip:${kamailio.host}:${kamailio.sipPort}`;
  return endpoint.sendRequest({
    method: 'OPTIONS',
    uri: target,
    from: `sip:probe@${endpoint.localAddress}`,
    to: target,
    headers,
  });
}

/** Kamailio is alive and serving: an OPTIONS from the trunk is answered 200. */
async function assertAnswersOptions(): Promise<void> {
  const probe = await udpFrom(TRUNK);
  const response = await probe.finalResponse(options(probe));
  assert.is(response.status, 200);
  assert.ok(kamailio.process.running, 'Kamailio is still running');
}

test('an INVITE from an address outside TRUNK_ADDRESSES is refused with 403', async () => {
  const result = await runSipp({
    scenario: path.join(SCENARIOS, 'uac-invite-from-untrusted-address-expect-403.xml'),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    localIp: '127.0.0.2',
    keys: { number: '100', domain: kamailio.domain },
  });
  assert.is(result.code, 0, describeSipp(result));
  await kamailio.waitForLog(/refused INVITE from 127\.0\.0\.2:\d+ \(other\)/);
});

test('scanners get no answer at all, while others from the same address do', async () => {
  const scanner = await udpFrom('127.0.0.3');
  const probes = [
    'friendly-scanner',
    'sipvicious',
    'SIPVicious 0.3.4',
    'sipcli/v1.8',
    'VaxSIPUserAgent/3.1',
    'pplsip',
    'iWar',
    'sundayddr',
    'sip-scan',
  ].map((ua) => options(scanner, [['User-Agent', ua]]));
  await kamailio.waitForLog(/dropping requests of scanner ".*" from 127\.0\.0\.3/);
  // Answered in order by a single source: once this one is answered, the scanners' would have been.
  const ordinary = await scanner.finalResponse(options(scanner, [['User-Agent', 'Yealink SIP-T46U']]));
  assert.is(ordinary.status, 200);
  const again = await scanner.finalResponse(options(scanner));
  assert.is(again.status, 200);
  const answered = probes.filter((p) => scanner.received.some((m) => header(m, 'call-id') === p.callId));
  assert.equal(answered, [], 'no scanner request was answered');
});

test("a clinic's browsers behind one address all re-register at once (after a restart) and none is cut off", async () => {
  // DESKS x (REGISTER + its challenged retry) requests from 127.0.0.1 within a second or so:
  // over pike's 64 per 2 s, which only UDP/TCP sources that are neither trunk nor browser are held to.
  const desks = await Promise.all(Array.from({ length: DESKS }, () => SipWsEndpoint.connect(kamailio.wsUrl)));
  try {
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const results = await Promise.all(
      desks.map(async (desk, i) => {
        const user = `ws-desk-${i}`;
        const credentials = await kamailio.browserCredentials(user, expiresAt);
        return register(desk, {
          user,
          domain: kamailio.domain,
          ...credentials,
          contact: desk.contact(user),
          expires: 60,
          timeoutMs: 5000,
        });
      }),
    );
    assert.equal(
      results.map((r) => r.response.status),
      desks.map(() => 200),
    );
    assert.not.ok(
      kamailio.log.some((l) => /flood from 127\.0\.0\.1\b/.test(l)),
      'no browser was taken for a flood',
    );
  } finally {
    for (const desk of desks) await desk.close();
  }
});

test('a flood from one untrusted address is cut off; the trunk is never limited', async () => {
  // In batches of 20, with a round trip from the trunk between batches: a single burst of 300 would
  // overflow the kernel's UDP buffers and prove nothing about Kamailio.
  const trunk = await udpFrom(TRUNK);
  const flooder = await udpFrom('127.0.0.5');
  const flood: ReturnType<typeof options>[] = [];
  for (let batch = 0; batch < 15; batch++) {
    for (let i = 0; i < 20; i++) flood.push(options(flooder));
    assert.is((await trunk.finalResponse(options(trunk))).status, 200);
  }
  await kamailio.waitForLog(/flood from 127\.0\.0\.5/);
  const answered = flood.filter((s) => flooder.received.some((m) => header(m, 'call-id') === s.callId)).length;
  assert.ok(answered < 200, `most of the flood went unanswered (${answered} of 300 answered)`);

  for (let batch = 0; batch < 15; batch++) {
    const requests = Array.from({ length: 20 }, () => options(trunk));
    for (const request of requests) assert.is((await trunk.finalResponse(request)).status, 200);
  }
  assert.not.ok(
    kamailio.log.some((l) => /flood from 127\.0\.0\.1\b/.test(l)),
    'the trunk was not limited',
  );
});

test('routing through Kamailio needs a dialog it saw: a forged in-dialog INVITE to a victim is refused', async () => {
  const attacker = await udpFrom('127.0.0.6');
  const victim = await udpFrom('127.0.0.7');
  const victimUri = `sip:+19005550123@${victim.localAddress}:${victim.localPort}`;
  const forged = attacker.sendRequest({
    method: 'INVITE',
    uri: victimUri,
    from: `sip:attacker@${attacker.localAddress}`,
    to: victimUri,
    toTag: randomToken(4),
    routes: [`<sip:${kamailio.host}:${kamailio.sipPort};lr>`],
    contact: `sip:attacker@${attacker.localAddress}:${attacker.localPort}`,
  });
  const response = await attacker.finalResponse(forged);
  assert.is(response.status, 404);
  assert.is(victim.received.length, 0, 'nothing reached the victim');
});

test('an in-dialog request addressed to Kamailio itself is answered, not looped', async () => {
  const peer = await udpFrom(TRUNK);
  const self = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const ping = peer.sendRequest({
    method: 'OPTIONS',
    uri: self,
    from: 'sip:app@127.0.0.1',
    to: self,
    toTag: randomToken(4),
  });
  assert.is((await peer.finalResponse(ping)).status, 200);
  const bye = peer.sendRequest({
    method: 'BYE',
    uri: self,
    from: 'sip:app@127.0.0.1',
    to: self,
    toTag: randomToken(4),
  });
  assert.is((await peer.finalResponse(bye)).status, 481);
});

/** Datagrams that are not SIP, or SIP that is broken in the ways parsers trip over. */
function garbage(i: number, from: SipUdpEndpoint): Buffer {
  const target = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const valid = (overrides: [string, string][], startLine = `OPTIONS ${target} SIP/2.0`, body = ''): string =>
    serialize(
      startLine,
      [
        ['Via', `SIP/2.0/UDP ${from.localAddress}:${from.localPort};branch=${newBranch()}`],
        ['From', `<sip:g@${from.localAddress}>;tag=${randomToken(3)}`],
        ['To', `<${target}>`],
        ['Call-ID', randomToken(8)],
        ['CSeq', '1 OPTIONS'],
        ...overrides,
      ],
      body,
    );
  const kinds: (() => string | Buffer)[] = [
    () => randomBytes(1 + (i % 1400)),
    () => Buffer.alloc(64, 0),
    () => valid([]).slice(0, 10 + (i % 120)),
    () => valid([['CSeq', 'banana OPTIONS']]),
    () => valid([['Content-Length', '99999']]),
    () => valid([['Content-Length', '-5']]),
    () => valid([['Via', 'SIP/2.0/UDP']]),
    () => valid([['From', '<<<sip:@@@>>>']]),
    () => valid([['To', '"unterminated <sip:x']]),
    () => valid([['Max-Forwards', '-1']]),
    () => valid([['X-Long', 'a'.repeat(60_000)]]),
    () => valid([], `INVITE sip:%%%%@[::::]:99999 SIP/2.0`),
    () => valid([], 'OPTIONS SIP/2.0'),
    () => valid([], `OPTIONS ${target} SIP/9.9`),
    () => valid([], 'SIP/2.0 200'),
    () => valid([], 'SIP/2.0 999999 Nonsense'),
    () =>
      valid(
        [['Content-Type', 'application/sdp']],
        `INVITE sip:100@${kamailio.domain} SIP/2.0`,
        'v=0\r\no=\r\nc=IN IP4 \r\nm=audio -1 RTP/AVP x\r\n',
      ),
    () => `${valid([])}\u0000\u0000\u0000`,
    () => valid([['Via', `SIP/2.0/UDP ${'9'.repeat(300)}:${'9'.repeat(30)}`]]),
    () => Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
  ];
  const kind = kinds[i % kinds.length] as () => string | Buffer;
  const data = kind();
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
}

test('500 malformed and garbage datagrams leave Kamailio running and answering', async () => {
  const sources = await Promise.all(['127.0.0.8', '127.0.0.9', '127.0.0.10', '127.0.0.11', '127.0.0.12'].map(udpFrom));
  for (let i = 0; i < 500; i++) {
    const from = sources[i % sources.length] as SipUdpEndpoint;
    from.sendRaw(garbage(i, from));
  }
  // Also over TCP and on the WebSocket port: junk, a half request, and HTTP that is not a handshake.
  const junk = [
    randomBytes(4096),
    Buffer.from('INVITE sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\nshort'),
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from('\r\n\r\n\r\n'),
  ];
  for (const port of [kamailio.sipPort, kamailio.wsPort]) {
    for (const data of junk) {
      await new Promise<void>((resolve) => {
        const socket = net.connect({ host: kamailio.host, port }, () => socket.end(data));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
  }
  await assertAnswersOptions();
});

test('an HTTP request on the WebSocket port that is not a SIP handshake gets 404', async () => {
  const response = await fetch(`http://${kamailio.host}:${kamailio.wsPort}/`);
  assert.is(response.status, 404);
});

test.run();
