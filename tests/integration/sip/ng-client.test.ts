import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { NgClient, NgError } from '@deskline/sip/media/ng-client';
import { MediaSession, QUEUE_TAG } from '@deskline/sip/media/media-session';
import { RtpEngine } from '@deskline/sip/media/rtpengine';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { wavOf } from '@deskline/sip/voicemail/voicemail-files';

const silent = pino({ level: 'silent' });
const patientSdp = [
  'v=0',
  'o=patient 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

const test = suite<{ rtpengine: TestRtpengine; ng: NgClient; engine: RtpEngine; dir: string }>('rtpengine ng client');

test.before(async (context) => {
  const started = await startTestRtpengine();
  context.rtpengine = started;
  context.ng = await NgClient.open({ host: '127.0.0.1', port: started.ngPort, logger: silent });
  context.engine = new RtpEngine(context.ng);
  context.dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-ng-'));
});

test.after(async (context) => {
  await context.ng?.close();
  await context.rtpengine?.stop();
  rmSync(context.dir, { recursive: true, force: true });
});

test('ping answers pong', async ({ engine }) => {
  await engine.ping();
});

test('a media session answers the patient for the queue in plain RTP, plays a file, and is deleted', async ({
  engine,
  dir,
}) => {
  const file = path.join(dir, 'one-second.wav');
  writeFileSync(file, silenceWav(1));
  const media = new MediaSession(engine, 'ng-test-1', 'patient-tag', silent);
  const sdp = await media.answerForQueue(patientSdp);
  assert.match(
    sdp,
    /^m=audio \d+ RTP\/AVP 0 8 101\r$/m,
    "the answer: the placeholder's codecs, all of which the patient offered",
  );
  assert.match(sdp, /^c=IN IP4 127\.0\.0\.1\r$/m);
  assert.match(sdp, /^a=sendrecv\r$/m);
  assert.not.match(sdp, /a=(ice-|fingerprint|crypto|msid|ssrc|mid:|rtcp-fb)/);
  const query = await engine.query('ng-test-1');
  assert.ok(typeof query['tags'] === 'object' && query['tags'] !== null && QUEUE_TAG in query['tags']);

  const playback = await media.playToPatient(file, 1);
  assert.is(playback.durationMs, 1000);
  assert.equal(await engine.list(), ['ng-test-1']);

  await media.destroy();
  await media.destroy();
  assert.equal(await engine.list(), [], 'deleted at once, not after delete-delay');
  try {
    await media.playToPatient(file, 1);
    assert.unreachable('a destroyed session refuses work');
  } catch (err) {
    assert.match((err as Error).message, /closed/);
  }
});

test("an error reply becomes an NgError with rtpengine's reason", async ({ engine }) => {
  try {
    await engine.query('no-such-call');
    assert.unreachable('query of an unknown call should fail');
  } catch (err) {
    assert.instance(err, NgError);
    assert.is((err as NgError).command, 'query');
    assert.match((err as NgError).reason, /unknown call-id/i);
  }
});

test('a silent rtpengine: the request is sent three times with one cookie, then fails as a timeout', async () => {
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
  const received: string[] = [];
  sink.on('message', (data) => received.push(data.toString('latin1', 0, data.indexOf(0x20))));
  const client = await NgClient.open({
    host: '127.0.0.1',
    port: sink.address().port,
    logger: silent,
    timeoutMs: 100,
    attempts: 3,
  });
  const started = Date.now();
  try {
    await client.request('ping');
    assert.unreachable('nobody answers');
  } catch (err) {
    assert.instance(err, NgError);
    assert.ok((err as NgError).timedOut);
    assert.match((err as Error).message, /no reply from 127\.0\.0\.1:\d+ within 300 ms/);
  } finally {
    await client.close();
    sink.close();
  }
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 1000, `${elapsed} ms`);
  assert.is(received.length, 3);
  assert.is(new Set(received).size, 1, 'retransmissions reuse the cookie');
});

/** An 8 kHz mono 16-bit WAV of silence. */
function silenceWav(seconds: number): Buffer {
  return wavOf(new Int16Array(8000 * seconds));
}

test.run();
