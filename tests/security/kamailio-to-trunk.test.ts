/**
 * Kamailio's route to the outbound trunk (TO_TRUNK in pbx-config/kamailio/kamailio.cfg), attacked
 * with a real Kamailio and Redis: sipp plays whoever is not the sip app, and the outbound trunk
 * (a UAS at OUTBOUND_TRUNK); the sip app's own connection is played by the test over TCP from
 * SIP_APP_HOST:SIP_APP_PORT, as the sip app connects. Only an INVITE from that connection, to
 * OUTBOUND_TRUNK exactly, for an E.164 number that the sip app authorized for that Call-ID and that
 * the policy's prefixes allow, reaches the trunk; everything else gets 403.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { REPO_ROOT } from '../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { SipTcpEndpoint } from '../helpers/sip-endpoint.js';
import { randomToken, type SipMessage } from '../helpers/sip-message.js';
import { describeSipp, runSipp, type SippResult } from '../helpers/sipp.js';

const SCENARIOS = path.join(REPO_ROOT, 'tests/security/sipp');
const ALLOWED = '+48601234567';
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
let db: Redis;
let kamailio: TestKamailio;
let policy: OutboundPolicyStore;
let trunkPort: number;
let app: SipTcpEndpoint;
let trunk: string;

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  policy = new OutboundPolicyStore(db, 'PL');
  await policy.ensure();
  trunkPort = await freePort('127.0.0.1', ['udp']);
  trunk = `127.0.0.1:${trunkPort}`;
  // 127.0.0.1 is no trunk address here, so requests from it are "anyone" unless they come over the
  // sip app's connection.
  kamailio = await startTestKamailio({ redisUrl: redis.url, outboundTrunk: trunk, trunkAddresses: ['127.0.0.3'] });
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
  db?.disconnect();
  await redis?.stop();
});

/** The sip app's INVITE (over its connection) to `uri`, under `callId`; answers the final response. */
async function appInvite(uri: string, options: { callId?: string; headers?: [string, string][] } = {}) {
  const sent = app.sendRequest({
    method: 'INVITE',
    uri,
    callId: options.callId ?? `cb-${randomToken(8)}`,
    from: `sip:100@${kamailio.domain}`,
    to: uri,
    contact: `sip:deskline@${kamailio.appHost}:${kamailio.appPort};transport=tcp`,
    headers: [['Content-Type', 'application/sdp'], ...(options.headers ?? [])],
    body: SDP,
  });
  return app.finalResponse(sent);
}

/** As the sip app does before it sends: the INVITE with this Call-ID may go to `number`. */
async function authorized(number: string): Promise<string> {
  const callId = `cb-${randomToken(8)}`;
  await policy.authorizeCall(callId, number);
  return callId;
}

function fromNonApp(options: { localIp: string; transport: 'u1' | 't1'; localPort?: number }): Promise<SippResult> {
  return runSipp({
    scenario: path.join(SCENARIOS, 'uac-invite-to-trunk-from-non-app-expect-403.xml'),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    localIp: options.localIp,
    transport: options.transport,
    ...(options.localPort ? { localPort: options.localPort } : {}),
    keys: { number: ALLOWED, trunk },
  });
}

test("an INVITE toward the trunk that does not come from the sip app is refused 403 (sipp from another address, from the app's address over UDP and over TCP from another port)", async () => {
  for (const options of [
    { localIp: '127.0.0.2', transport: 'u1' as const },
    { localIp: '127.0.0.1', transport: 'u1' as const },
    { localIp: '127.0.0.1', transport: 't1' as const },
  ]) {
    const result = await fromNonApp(options);
    assert.is(result.code, 0, `${JSON.stringify(options)}: ${describeSipp(result)}`);
  }
});

test("the sip app's connection: refused numbers, other destinations and missing authorizations get 403; an allowed, authorized number to OUTBOUND_TRUNK reaches the trunk (sipp UAS) and only it", async () => {
  await policy.set({ ...(await policy.get()), deniedPrefixes: ['+4870'] });
  const uas = runSipp({
    scenario: path.join(SCENARIOS, 'uas-trunk-expect-one-invite-to-allowed-number-486.xml'),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    localIp: '127.0.0.1',
    localPort: trunkPort,
    timeoutMs: 20_000,
  });
  const otherPort = await freePort('127.0.0.1', ['udp']);
  const refusals: Array<[string, () => Promise<SipMessage>, number, string]> = [
    [
      'an allowed number without authorization',
      async () => appInvite(`sip:${ALLOWED}@${trunk}`),
      403,
      'Not Authorized',
    ],
    [
      'an authorization for another number',
      async () => appInvite(`sip:${ALLOWED}@${trunk}`, { callId: await authorized('+48601234568') }),
      403,
      'Not Authorized',
    ],
    [
      'a denied prefix (Polish premium rate), authorized',
      async () => appInvite(`sip:+48701234567@${trunk}`, { callId: await authorized('+48701234567') }),
      403,
      'Outside Callback Policy',
    ],
    [
      'a foreign number, authorized',
      async () => appInvite(`sip:+4915112345678@${trunk}`, { callId: await authorized('+4915112345678') }),
      403,
      'Outside Callback Policy',
    ],
    [
      'a service code',
      async () => appInvite(`sip:*100%23@${trunk}`, { callId: await authorized('*100#') }),
      403,
      'Not An E.164 Number',
    ],
    [
      'a national number',
      async () => appInvite(`sip:601234567@${trunk}`, { callId: await authorized('601234567') }),
      403,
      'Not An E.164 Number',
    ],
    [
      'longer than E.164 (16 digits)',
      async () => appInvite(`sip:+4860123456789012@${trunk}`, { callId: await authorized('+4860123456789012') }),
      403,
      'Not An E.164 Number',
    ],
    [
      'too short',
      async () => appInvite(`sip:+48601@${trunk}`, { callId: await authorized('+48601') }),
      403,
      'Not An E.164 Number',
    ],
    [
      'another port',
      async () => appInvite(`sip:${ALLOWED}@127.0.0.1:${otherPort}`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'another host',
      async () => appInvite(`sip:${ALLOWED}@127.0.0.2:${trunkPort}`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'no port (5060)',
      async () => appInvite(`sip:${ALLOWED}@127.0.0.1`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'the trunk over TCP',
      async () => appInvite(`sip:${ALLOWED}@${trunk};transport=tcp`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'the trunk with maddr',
      async () => appInvite(`sip:${ALLOWED}@${trunk};maddr=127.0.0.2`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'sips',
      async () => appInvite(`sips:${ALLOWED}@${trunk}`, { callId: await authorized(ALLOWED) }),
      403,
      'Not The Outbound Trunk',
    ],
    [
      'a Route header elsewhere',
      async () =>
        appInvite(`sip:${ALLOWED}@${trunk}`, {
          callId: await authorized(ALLOWED),
          headers: [['Route', `<sip:127.0.0.1:${otherPort};lr>`]],
        }),
      403,
      'Not The Outbound Trunk',
    ],
  ];
  for (const [what, send, status, reason] of refusals) {
    const response = await send();
    assert.is(`${response.status} ${response.reason}`, `${status} ${reason}`, what);
  }

  const callId = await authorized(ALLOWED);
  const busy = await appInvite(`sip:${ALLOWED}@${trunk}`, { callId });
  assert.is(busy.status, 486, 'the trunk answered');
  const result = await uas;
  assert.is(result.code, 0, describeSipp(result));
  assert.is((result.messages.match(/^INVITE sip:/gm) ?? []).length, 1, 'the trunk received one INVITE');
  assert.is(await db.exists(RedisKeys.outboundCall(callId)), 0, 'the authorization was spent');

  // Spent: the same Call-ID again (a new transaction) is refused.
  const again = await appInvite(`sip:${ALLOWED}@${trunk}`, { callId });
  assert.is(`${again.status} ${again.reason}`, '403 Not Authorized');
});

test('a Kamailio without OUTBOUND_TRUNK relays no callback at all', async () => {
  const bare = await startTestKamailio({ redisUrl: redis.url, trunkAddresses: ['127.0.0.3'] });
  const endpoint = await SipTcpEndpoint.connect({
    host: bare.host,
    port: bare.sipPort,
    localAddress: bare.appHost,
    localPort: bare.appPort,
  });
  try {
    const callId = await authorized(ALLOWED);
    const uri = `sip:${ALLOWED}@${trunk}`;
    const sent = endpoint.sendRequest({
      method: 'INVITE',
      uri,
      callId,
      from: `sip:100@${bare.domain}`,
      to: uri,
      headers: [['Content-Type', 'application/sdp']],
      body: SDP,
    });
    const response = await endpoint.finalResponse(sent);
    assert.is(`${response.status} ${response.reason}`, '403 No Outbound Trunk');
  } finally {
    await endpoint.close();
    await bare.stop();
  }
});

test.run();
