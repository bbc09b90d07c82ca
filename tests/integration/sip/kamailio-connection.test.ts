import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { startSipApp, type RunningSipApp } from '../../helpers/sip-app.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { FakeKamailio, type FakeConnection } from '../../helpers/fake-kamailio.js';

interface Context {
  redis: TestRedis;
  rtpengine: TestRtpengine;
  kamailio: FakeKamailio;
  app: RunningSipApp;
  appPort: number;
}

const test = suite<Context>('the connection to Kamailio');

test.before(async (context) => {
  context.redis = await startTestRedis();
  const rtpengine = await startTestRtpengine();
  context.rtpengine = rtpengine;
  context.kamailio = await FakeKamailio.listen();
  context.appPort = await freePort('127.0.0.1');
  context.app = await startSipApp({
    env: {
      REDIS_URL: context.redis.url,
      SIP_PORT: String(context.kamailio.port),
      SIP_APP_PORT: String(context.appPort),
      RTPENGINE_NG_PORT: String(rtpengine.ngPort),
    },
    readyWhen: 'options-answered',
  });
});

test.after(async (context) => {
  await context.app?.stop();
  await context.kamailio?.close();
  await context.rtpengine?.stop();
  await context.redis?.stop();
});

function current(kamailio: FakeKamailio): FakeConnection {
  const connection = kamailio.connections[kamailio.connections.length - 1];
  if (!connection) throw new Error('no connection');
  return connection;
}

function options(branch: string): string {
  return [
    `OPTIONS sip:deskline@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK${branch}`,
    'From: <sip:kamailio@deskline.local>;tag=k1',
    'To: <sip:deskline@127.0.0.1>',
    `Call-ID: ${branch}@kamailio`,
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Sends a valid OPTIONS and resolves with the sip app's answer: proof it is alive and in sync. */
async function ping(kamailio: FakeKamailio, branch: string): Promise<string> {
  const connection = current(kamailio);
  const from = connection.messages.length;
  connection.socket.write(options(branch));
  return kamailio.waitUntil(`the answer to OPTIONS ${branch}`, () =>
    connection.messages.slice(from).find((m) => m.startsWith('SIP/2.0 ') && m.includes(`branch=z9hG4bK${branch}`)),
  );
}

test('connects from SIP_APP_PORT and introduces itself with an OPTIONS whose Via carries ;alias', async ({
  kamailio,
  appPort,
}) => {
  const connection = current(kamailio);
  assert.is(connection.remotePort, appPort);
  const request = await kamailio.waitForMessage(connection, 'OPTIONS ');
  assert.match(request, new RegExp(`^Via: SIP/2\\.0/TCP 127\\.0\\.0\\.1:${appPort};alias;branch=z9hG4bK`, 'm'));
  assert.match(await ping(kamailio, 'alive0'), /^SIP\/2\.0 200 /);
});

test('garbage and broken SIP are logged and dropped; the app stays up and in sync', async ({ kamailio, app }) => {
  const connection = current(kamailio);
  const from = app.logs.length;
  const broken = [
    'hello there\r\n\r\n',
    Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x16, 0x03, 0x01]), Buffer.from('\r\n\r\n')]),
    'INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKx1\r\nContent-Length: 0\r\n\r\n',
    'INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKx2\r\nFrom: <<<nope>>>;tag=1\r\nTo: <sip:100@x>\r\nCall-ID: x2\r\nCSeq: one INVITE\r\nContent-Length: 0\r\n\r\n',
    'INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: garbage\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:100@x>\r\nCall-ID: x3\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKnobody\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: nobody\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n',
    'SIP/2.0 999999999 Whatever\r\n\r\n',
    'FOO bar SIP/9.9\r\nX: y\r\n\r\n',
  ];
  for (const piece of broken) connection.socket.write(piece);
  assert.match(await ping(kamailio, 'alive1'), /^SIP\/2\.0 200 /);
  // Every piece but the stray response (which the core ignores, as no transaction wants it).
  const dropped = await waitFor('seven drops logged', () => {
    const lines = app.logs
      .slice(from)
      .filter((line) => line.msg === 'dropped a message from Kamailio that could not be handled');
    return lines.length >= 7 ? lines : undefined;
  });
  assert.equal(
    dropped.map((line) => line['reason']),
    [
      'not a SIP message',
      'not a SIP message',
      'no from header',
      'not a SIP message',
      'not a SIP message',
      'not a SIP message',
      'not a SIP message',
    ],
  );
  assert.ok(app.process.running);
  assert.is(kamailio.connections.length, 1, 'no reconnect was needed');
});

test('requests the core refuses get a SIP answer, not a crash', async ({ kamailio }) => {
  const connection = current(kamailio);
  const from = connection.messages.length;
  connection.socket.write(
    'BYE sip:deskline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKbye1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: nodialog\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
  );
  const answer = await kamailio.waitUntil('the 481', () =>
    connection.messages.slice(from).find((m) => m.includes('z9hG4bKbye1')),
  );
  assert.match(answer, /^SIP\/2\.0 481 /);
  assert.match(await ping(kamailio, 'alive2'), /^SIP\/2\.0 200 /);
});

test('a stream that loses its framing is dropped, and the app reconnects from the same port', async ({
  kamailio,
  app,
  appPort,
}) => {
  const before = kamailio.connections.length;
  const from = app.logs.length;
  const started = Date.now();
  current(kamailio).socket.write('INVITE sip:100@x SIP/2.0\r\nContent-Length: lots\r\n\r\n');
  const again = await kamailio.waitUntil('a new connection with its OPTIONS', () => {
    const connection = kamailio.connections[before];
    return connection?.messages.some((m) => m.startsWith('OPTIONS ')) ? connection : undefined;
  });
  console.log(`  reconnected and sent OPTIONS ${Date.now() - started} ms after the framing error`);
  assert.is(again.remotePort, appPort);
  assert.ok(app.logs.slice(from).some((line) => line.msg === 'unreadable data from Kamailio; reconnecting'));
  assert.match(await ping(kamailio, 'alive3'), /^SIP\/2\.0 200 /);
});

test('when Kamailio closes the connection, the app reconnects with backoff', async ({ kamailio, app, appPort }) => {
  const before = kamailio.connections.length;
  const lost = (): number =>
    app.logs.filter((line) => line.msg === 'lost the connection to Kamailio; reconnecting').length;
  const lostBefore = await waitFor("the previous test's reconnect to be logged", () => lost() || undefined);
  current(kamailio).socket.destroy();
  const again = await kamailio.waitUntil('a new connection with its OPTIONS', () => {
    const connection = kamailio.connections[before];
    return connection?.messages.some((m) => m.startsWith('OPTIONS ')) ? connection : undefined;
  });
  assert.is(again.remotePort, appPort);
  await waitFor('the lost connection to be logged', () => lost() > lostBefore);
  assert.match(await ping(kamailio, 'alive4'), /^SIP\/2\.0 200 /);
});

test.run();
