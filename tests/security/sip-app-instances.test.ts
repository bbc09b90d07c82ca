/**
 * Kamailio with several sip app instances (SIP_APP_ADDRESSES), attacked with a real Kamailio: the
 * instances' connections are played by the test over TCP from their listed addresses, a trunk over
 * UDP, and an impostor over TCP from an address that is not listed. Only the listed connections are
 * the sip app; new calls go to a connected one in turn, past one that is gone (at once) or refuses
 * with 503 or answers nothing within 3 s, never to the impostor; with none connected the trunk gets
 * 503 at once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { SipTcpEndpoint, SipUdpEndpoint } from '../helpers/sip-endpoint.js';
import { header, type SipMessage } from '../helpers/sip-message.js';
import { waitFor } from '../helpers/wait.js';

const TRUNK_ADDRESS = '127.0.0.3';
const SDP = [
  'v=0',
  'o=pbx 1 1 IN IP4 127.0.0.3',
  's=-',
  'c=IN IP4 127.0.0.3',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=sendrecv',
  '',
].join('\r\n');

let redis: TestRedis;
let kamailio: TestKamailio;
let trunk: SipUdpEndpoint;

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url, trunkAddresses: [TRUNK_ADDRESS], appInstances: 2 });
  trunk = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort, TRUNK_ADDRESS);
});

test.after(async () => {
  await trunk?.close();
  await kamailio?.stop();
  await redis?.stop();
});

/** A TCP connection to Kamailio from `port` (on the sip app's host) that introduces itself as the sip app does. */
async function connectFrom(port: number): Promise<SipTcpEndpoint> {
  const endpoint = await SipTcpEndpoint.connect({
    host: kamailio.host,
    port: kamailio.sipPort,
    localAddress: kamailio.appHost,
    localPort: port,
  });
  const self = `sip:${kamailio.host}:${kamailio.sipPort}`;
  const ping = endpoint.sendRequest({ method: 'OPTIONS', uri: self, from: `sip:sipapp@${kamailio.domain}`, to: self });
  assert.is((await endpoint.finalResponse(ping)).status, 200);
  return endpoint;
}

/** A patient's INVITE from the trunk; resolves with the final answer and how long it took. */
async function trunkCall(): Promise<{ answer: SipMessage; ms: number; callId: string }> {
  const uri = `sip:100@${kamailio.host}:${kamailio.sipPort}`;
  const started = Date.now();
  const sent = trunk.sendRequest({
    method: 'INVITE',
    uri,
    from: `sip:+48601234567@${TRUNK_ADDRESS}`,
    to: uri,
    contact: `sip:pbx@${TRUNK_ADDRESS}:${trunk.localPort}`,
    headers: [['Content-Type', 'application/sdp']],
    body: SDP,
  });
  const answer = await trunk.finalResponse(sent, 10_000);
  return { answer, ms: Date.now() - started, callId: sent.callId };
}

const handled = new Set<SipMessage>();

/** The next INVITE that reached one of `endpoints` (polled: no wait is left behind on the other). */
async function nextInvite(
  endpoints: SipTcpEndpoint[],
  timeoutMs = 5_000,
): Promise<{ invite: SipMessage; at: SipTcpEndpoint }> {
  return waitFor(
    'an INVITE at a sip app instance',
    () => {
      for (const at of endpoints) {
        const invite = at.received.find((m) => m.method === 'INVITE' && !handled.has(m));
        if (invite) {
          handled.add(invite);
          return { invite, at };
        }
      }
      return undefined;
    },
    timeoutMs,
  );
}

/** The next INVITE at one of `endpoints` is answered `status` there (486 stands for "it reached me"); resolves with where. */
async function take(endpoints: SipTcpEndpoint[], status: number, reason: string): Promise<SipTcpEndpoint> {
  const { invite, at } = await nextInvite(endpoints);
  at.respond(invite, status, reason);
  return at;
}

/** Fails when `endpoint` received any INVITE. */
function assertNoInvite(endpoint: SipTcpEndpoint, who: string): void {
  assert.equal(
    endpoint.received.filter((m) => m.method === 'INVITE').map((m) => header(m, 'call-id')),
    [],
    `${who} got no INVITE`,
  );
}

test('only the listed connections are the sip app: an impostor from another port of the same host cannot ring a workstation', async () => {
  const impostorPort = await freePort(kamailio.appHost);
  const [first, second, impostor] = await Promise.all([
    connectFrom(kamailio.appPorts[0]!),
    connectFrom(kamailio.appPorts[1]!),
    connectFrom(impostorPort),
  ]);
  try {
    const ring = async (endpoint: SipTcpEndpoint): Promise<number | undefined> => {
      const uri = `sip:ws-nobody@${kamailio.domain}`;
      const sent = endpoint.sendRequest({
        method: 'INVITE',
        uri,
        from: `sip:100@${kamailio.domain}`,
        to: uri,
        contact: `sip:deskline@${kamailio.appHost}:${endpoint.localPort};transport=tcp`,
        headers: [['Content-Type', 'application/sdp']],
        body: SDP,
      });
      return (await endpoint.finalResponse(sent)).status;
    };
    // A listed instance rings: the workstation is simply not registered.
    assert.is(await ring(first), 480);
    assert.is(await ring(second), 480);
    // Anyone else may not ring workstations at all.
    assert.is(await ring(impostor), 403);
  } finally {
    await Promise.all([first.close(), second.close(), impostor.close()]);
  }
});

test('new calls go to the connected instances in turn, past one that refuses with 503, never to an impostor; with none connected, 503 at once', async () => {
  const impostor = await connectFrom(await freePort(kamailio.appHost));
  let first = await connectFrom(kamailio.appPorts[0]!);
  const second = await connectFrom(kamailio.appPorts[1]!);
  try {
    // Two calls: one to each instance.
    const reached: SipTcpEndpoint[] = [];
    for (let i = 0; i < 2; i++) {
      const call = trunkCall();
      reached.push(await take([first, second], 486, 'Busy Here'));
      assert.is((await call).answer.status, 486);
    }
    assert.ok(reached.includes(first) && reached.includes(second), 'one call each');

    // One instance is stopping (503): the call moves on to the other.
    const call = trunkCall();
    const refusing = await take([first, second], 503, 'Shutting Down');
    const answering = await take([first, second], 486, 'Busy Here');
    assert.is.not(answering, refusing, 'the other instance got it');
    assert.is((await call).answer.status, 486, "the other instance's answer");

    // The first instance is gone: every call goes to the second at once.
    await first.close();
    for (let i = 0; i < 2; i++) {
      const call = trunkCall();
      assert.is(await take([second], 486, 'Busy Here'), second);
      const { answer, ms } = await call;
      assert.is(answer.status, 486);
      assert.ok(ms < 1_000, `answered by the live instance after ${ms} ms`);
    }

    // None connected: 503 at once, and still nothing to the impostor.
    await second.close();
    const { answer, ms } = await trunkCall();
    console.log(`  no instance connected: ${answer.startLine.trim()} after ${ms} ms`);
    assert.is(answer.status, 503);
    assert.ok(ms < 1_000, `refused after ${ms} ms`);
    assertNoInvite(impostor, 'the impostor');

    // An instance that comes back takes calls again.
    first = await connectFrom(kamailio.appPorts[0]!);
    const again = trunkCall();
    assert.is(await take([first], 486, 'Busy Here'), first);
    assert.is((await again).answer.status, 486);
    assertNoInvite(impostor, 'the impostor');
  } finally {
    await Promise.all([first.close(), second.close(), impostor.close()]);
  }
});

test("an instance that is connected but answers nothing (hung) loses the call to the other after 3 s, not after Kamailio's 60 s", async () => {
  const first = await connectFrom(kamailio.appPorts[0]!);
  const second = await connectFrom(kamailio.appPorts[1]!);
  try {
    const call = trunkCall();
    const { at: silent } = await nextInvite([first, second]);
    const answering = await take([first, second], 486, 'Busy Here');
    assert.is.not(answering, silent, 'the other instance got it');
    const { answer, ms } = await call;
    console.log(`  past a silent instance: ${answer.startLine.trim()} after ${ms} ms`);
    assert.is(answer.status, 486);
    assert.ok(ms >= 2_500 && ms < 6_000, `moved on after ${ms} ms`);
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

test.run();
