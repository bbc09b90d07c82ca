/**
 * Registration with a carrier (TRUNK_REGISTRAR …, pbx-config/TRUNKS.md): Kamailio's uac module
 * registers the clinic's line at the carrier's registrar with digest credentials from the table the
 * launcher writes, keeps it fresh, and the carrier's calls to the registered contact reach the sip
 * app like any trunk's. The registrar is played by the test (tests/helpers/carrier-registrar.ts), which
 * checks the digest response against the password; the sip app is played by the test too.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeRegistrationDb, type TrunkRegistration } from '@deskline/scripts/trunk-registration';
import { CarrierRegistrar } from '../../helpers/carrier-registrar.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipTcpEndpoint, SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { cseq, header, nameAddrUri, serialize, type SipMessage } from '../../helpers/sip-message.js';

const EXPIRES = 15;
const INTERVAL = 2;
// ':' and '\' must be escaped in the db_text table; the space must survive as it is.
const PASSWORD = 'pa:ss w\\rd#1';

let redis: TestRedis;
let registrar: CarrierRegistrar;
let kamailio: TestKamailio;
let app: SipTcpEndpoint;
let registration: TrunkRegistration;

test.before(async () => {
  redis = await startTestRedis();
  registrar = await CarrierRegistrar.open({
    realm: 'carrier.example',
    authUsername: 'deskline-4930',
    password: PASSWORD,
    expires: EXPIRES,
  });
  registration = {
    registrar: `127.0.0.1:${registrar.port}`,
    domain: 'sip.carrier.example',
    username: '4930123456',
    password: PASSWORD,
    authUsername: 'deskline-4930',
    realm: 'carrier.example',
    expires: EXPIRES,
  };
  kamailio = await startTestKamailio({ redisUrl: redis.url, registration, registerInterval: INTERVAL });
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
  await registrar?.close();
  await redis?.stop();
});

test('Kamailio registers the line: the 401 challenge is answered with the right digest, To/From/Contact as configured', async () => {
  const challenged = await registrar.waitForAttempt(401, 0, 10_000);
  const accepted = await registrar.waitForAttempt(200, 0, 10_000);
  for (const { request } of [challenged, accepted]) {
    assert.is(request.uri, 'sip:sip.carrier.example', "the Request-URI is the carrier's domain");
    assert.is(nameAddrUri(header(request, 'to') ?? ''), 'sip:4930123456@sip.carrier.example');
    assert.is(nameAddrUri(header(request, 'from') ?? ''), 'sip:4930123456@sip.carrier.example');
    assert.is(
      nameAddrUri(header(request, 'contact') ?? ''),
      `sip:4930123456@${kamailio.host}:${kamailio.sipPort}`,
      "the contact is Deskline's SIP address",
    );
    assert.is(header(request, 'expires'), String(EXPIRES));
  }
  assert.ok(accepted.digestValid, 'the digest response is the one the password gives');
  assert.equal(
    {
      username: accepted.authorization?.['username'],
      realm: accepted.authorization?.['realm'],
      uri: accepted.authorization?.['uri'],
    },
    { username: 'deskline-4930', realm: 'carrier.example', uri: 'sip:sip.carrier.example' },
  );
  assert.ok(
    cseq(accepted.request).number > cseq(challenged.request).number,
    'the answer to the challenge has a higher CSeq',
  );
  assert.is(header(accepted.request, 'call-id'), header(challenged.request, 'call-id'));
});

test("the password is only in the table (mode 600), never in Kamailio's command line, environment or log", () => {
  const dir = path.join(kamailio.runDir, 'uacreg');
  assert.is(statSync(dir).mode & 0o777, 0o700);
  for (const file of ['version', 'uacreg']) assert.is(statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
  assert.match(readFileSync(path.join(dir, 'uacreg'), 'utf8'), ':pa\\:ss w\\\\rd#1:');
  const pid = kamailio.process.pid ?? 0;
  assert.not.ok(readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(PASSWORD));
  const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  assert.not.ok(environ.includes(PASSWORD), 'not in its environment');
  assert.ok(environ.includes(`TRUNK_REGISTRATION_DB=text://${dir}`));
  assert.not.ok(
    kamailio.log.some((line) => line.includes(PASSWORD) || line.includes('pa\\:ss')),
    'not in its log',
  );
});

test('it registers again before the registration expires, in the same Call-ID', async () => {
  const first = await registrar.waitForAttempt(200, 0, 10_000);
  const second = await registrar.waitForAttempt(200, 1, (EXPIRES + 5) * 1000);
  const gap = second.at - first.at;
  // uac wakes every INTERVAL s and renews what expires within INTERVAL + 3 s.
  assert.ok(gap < EXPIRES * 1000, `renewed ${gap} ms after, before the ${EXPIRES} s ran out`);
  assert.ok(gap >= (EXPIRES - INTERVAL - 3 - 1) * 1000, `renewed ${gap} ms after: not much earlier than needed`);
  assert.ok(second.digestValid);
  assert.is(header(second.request, 'call-id'), header(first.request, 'call-id'));
  assert.ok(cseq(second.request).number > cseq(first.request).number);
  assert.is(registrar.attempts.filter((a) => a.status === 403).length, 0);
});

test("a carrier's INVITE to the registered contact, from an allowed address, reaches the sip app; its OPTIONS are answered", async () => {
  const carrier = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort, '127.0.0.1');
  try {
    const contact = `sip:4930123456@${kamailio.host}:${kamailio.sipPort}`;
    const options = carrier.sendRequest({
      method: 'OPTIONS',
      uri: contact,
      from: 'sip:carrier@sip.carrier.example',
      to: contact,
    });
    assert.is((await carrier.finalResponse(options)).status, 200, 'a keep-alive to the registered contact gets 200');

    const invite = carrier.sendRequest({
      method: 'INVITE',
      uri: contact,
      from: 'sip:+4915112345678@sip.carrier.example',
      to: 'sip:+4930123456@sip.carrier.example',
      contact: `sip:carrier@127.0.0.1:${carrier.localPort}`,
      headers: [['Content-Type', 'application/sdp']],
      body: [
        'v=0',
        'o=c 1 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=audio 40002 RTP/AVP 0',
        'a=rtpmap:0 PCMU/8000',
        '',
      ].join('\r\n'),
    });
    const atApp = await app.waitForRequest('INVITE', invite.callId, 5000);
    assert.is(atApp.uri, contact, 'the R-URI user is the registered user name: it must be one of CLINIC_NUMBERS');
    app.respond(atApp, 486, 'Busy Here', { toTag: 'app1' });
    const final = await carrier.finalResponse(invite);
    assert.is(final.status, 486);
    carrier.sendRaw(ackFor(parseOriginal(invite.raw), final));
    const logged = `call ${invite.callId} from 127.0.0.1 to 4930123456: to the sip app`;
    await kamailio.waitForLog(new RegExp(logged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  } finally {
    await carrier.close();
  }
});

test('without a registration nothing is sent, even with a registration table named in the inherited environment', async () => {
  const listener = await CarrierRegistrar.open({
    realm: 'carrier.example',
    authUsername: 'x',
    password: 'y',
    expires: 60,
  });
  const stale = mkdtempSync(path.join(os.tmpdir(), 'deskline-stale-uacreg-'));
  const saved = { ...process.env };
  try {
    // A table that would register at `listener`, named the way kamailio.cfg looks for one: the
    // launcher must not pass it on when no registration is configured.
    writeRegistrationDb(stale, { ...registration, registrar: `127.0.0.1:${listener.port}` });
    process.env['TRUNK_REGISTRATION_DB'] = `text://${path.join(stale, 'uacreg')}`;
    process.env['TRUNK_REGISTRAR'] = `127.0.0.1:${listener.port}`;
    const other = await startTestKamailio({ redisUrl: redis.url, registerInterval: 1 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.is(listener.received.length, 0, 'no REGISTER');
      assert.not.ok(
        readFileSync(`/proc/${other.process.pid ?? 0}/environ`, 'latin1').includes('TRUNK_REGISTRATION_DB='),
      );
    } finally {
      await other.stop();
    }
  } finally {
    process.env = saved;
    rmSync(stale, { recursive: true, force: true });
    await listener.close();
  }
});

function parseOriginal(raw: string): { uri: string; via: string; from: string; callId: string; cseq: number } {
  const lines = raw.split('\r\n');
  const get = (name: string): string =>
    lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.replace(/^[^:]*:\s*/, '') ?? '';
  return {
    uri: (lines[0] ?? '').split(' ')[1] ?? '',
    via: get('Via'),
    from: get('From'),
    callId: get('Call-ID'),
    cseq: Number(get('CSeq').split(' ')[0]),
  };
}

/** The ACK of a non-2xx final answer: same R-URI, Via branch, From, Call-ID and CSeq number; the answer's To. */
function ackFor(invite: ReturnType<typeof parseOriginal>, answer: SipMessage): string {
  return serialize(`ACK ${invite.uri} SIP/2.0`, [
    ['Via', invite.via],
    ['Max-Forwards', '70'],
    ['From', invite.from],
    ['To', header(answer, 'to') ?? ''],
    ['Call-ID', invite.callId],
    ['CSeq', `${invite.cseq} ACK`],
  ]);
}

test.run();
