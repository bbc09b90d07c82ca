/**
 * rtpengine as the sip app will drive it (ARCHITECTURE.md, "Hold music before anyone answers"):
 * offer with the patient's SDP, answer with a placeholder, then play media, and the patient's
 * RTP socket receives the clinic's audio at 50 packets a second. Also checks the media files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RTPENGINE_TIMER_SLACK_NS } from '@deskline/scripts/rtpengine';
import { ngPing } from '@deskline/scripts/rtpengine-ng';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import {
  holdLeg as holdLegOn,
  levelDbfs,
  patientSocket as openPatientSocket,
  type PatientSocket,
  type RtpPacket,
} from '../../helpers/rtpengine-playback.js';

const MEDIA = path.join(REPO_ROOT, 'pbx-config/media');
const PCMU = 0;

let rtpengine: TestRtpengine;
const sockets: PatientSocket[] = [];

test.before(async () => {
  rtpengine = await startTestRtpengine();
});

test.after(async () => {
  for (const socket of sockets) socket.close();
  await rtpengine.stop();
});

/** The patient's phone, closed after the file's tests. */
async function patientSocket(): Promise<PatientSocket> {
  const socket = await openPatientSocket();
  sockets.push(socket);
  return socket;
}

const holdLeg = (callId: string, patientPort: number): Promise<void> => holdLegOn(rtpengine, callId, patientPort);

interface WavFormat {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  seconds: number;
}

function wavFormat(file: string): WavFormat {
  const data = readFileSync(file);
  assert.is(data.toString('ascii', 0, 4), 'RIFF');
  assert.is(data.toString('ascii', 8, 12), 'WAVE');
  let at = 12;
  let fmt: Omit<WavFormat, 'seconds'> | undefined;
  while (at + 8 <= data.length) {
    const id = data.toString('ascii', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      fmt = {
        format: data.readUInt16LE(at + 8),
        channels: data.readUInt16LE(at + 10),
        sampleRate: data.readUInt32LE(at + 12),
        bitsPerSample: data.readUInt16LE(at + 22),
      };
    }
    if (id === 'data' && fmt)
      return { ...fmt, seconds: size / (fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8)) };
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no fmt and data chunks`);
}

/** The built-in intro, the first thing a caller hears in the default plan (English). */
const INTRO = path.join(MEDIA, 'prompts/en/intro');

test('the media files are 8 kHz mono 16-bit PCM WAV of sensible length (for the panel)', () => {
  const intro = wavFormat(`${INTRO}.wav`);
  const music = wavFormat(path.join(MEDIA, 'hold-music.wav'));
  for (const f of [intro, music]) assert.equal([f.format, f.channels, f.sampleRate, f.bitsPerSample], [1, 1, 8000, 16]);
  assert.ok(intro.seconds > 4 && intro.seconds < 15, `intro lasts ${intro.seconds} s`);
  assert.ok(music.seconds >= 20 && music.seconds <= 30, `hold music lasts ${music.seconds} s`);
});

/** The header of a Sun audio (.au) file (big-endian, after the magic `.snd`); `format` is its encoding, 1 for 8-bit μ-law. */
function auFormat(file: string): WavFormat {
  const data = readFileSync(file);
  assert.is(data.toString('ascii', 0, 4), '.snd');
  const word = (at: number): number => data.readUInt32BE(at);
  const sampleRate = word(16);
  const channels = word(20);
  return {
    format: word(12),
    channels,
    sampleRate,
    bitsPerSample: 8,
    seconds: (data.length - word(4)) / (sampleRate * channels),
  };
}

test('beside them, what rtpengine plays: 8 kHz mono G.711 μ-law .au of the same length', () => {
  const intro = auFormat(`${INTRO}.au`);
  const music = auFormat(path.join(MEDIA, 'hold-music.au'));
  for (const f of [intro, music]) assert.equal([f.format, f.channels, f.sampleRate], [1, 1, 8000]);
  assert.ok(Math.abs(intro.seconds - wavFormat(`${INTRO}.wav`).seconds) < 0.01, 'intro.au is intro.wav');
  assert.ok(
    Math.abs(music.seconds - wavFormat(path.join(MEDIA, 'hold-music.wav')).seconds) < 0.01,
    'hold-music.au is hold-music.wav',
  );
});

test('rtpengine plays media with one thread of each kind and a 2 ms timer slack (docs/call-plan.md, "Hold music cost")', () => {
  const pid = rtpengine.process.pid;
  assert.ok(pid !== undefined);
  const threads = readdirSync(`/proc/${pid}/task`).map((tid) => ({
    name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
    slack: Number(readFileSync(`/proc/${tid}/timerslack_ns`, 'utf8')),
  }));
  assert.is(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'rtpengine', 'sh gave its place to rtpengine');
  assert.equal(
    ['media player', 'send timer'].map((name) => threads.filter((t) => t.name === name).length),
    [1, 1],
    JSON.stringify(threads.map((t) => t.name)),
  );
  assert.ok(
    threads.every((t) => t.slack === RTPENGINE_TIMER_SLACK_NS),
    `every thread's timer slack is ${RTPENGINE_TIMER_SLACK_NS} ns: ${threads.map((t) => t.slack).join(', ')}`,
  );
});

test('rtpengine answers the ng ping with pong', async () => {
  assert.equal(await rtpengine.ng({ command: 'ping' }), { result: 'pong' });
  assert.ok(await ngPing(rtpengine.ngHost, rtpengine.ngPort));
});

test('play media of hold-music.au sends the patient 50 PCMU packets a second of audible music, evenly', async () => {
  const patient = await patientSocket();
  const callId = 'hold-music-test';
  await holdLeg(callId, patient.port);
  const play = await rtpengine.ng({
    command: 'play media',
    'call-id': callId,
    'from-tag': 'patient',
    file: path.join(MEDIA, 'hold-music.au'),
    'repeat-times': 10,
  });
  assert.is(play['result'], 'ok', JSON.stringify(play));
  // rtpengine reports the file's length: it decoded all of it.
  assert.ok(Math.abs(Number(play['duration']) - 24000) < 100, `duration ${String(play['duration'])} ms`);

  await patient.waitForPackets(160, 6000);
  const window = patient.packets.slice(10, 160);
  const first = window[0] as RtpPacket;
  const last = window[window.length - 1] as RtpPacket;
  const perSecond = ((window.length - 1) * 1000) / (last.at - first.at);
  assert.ok(perSecond > 45 && perSecond < 55, `${perSecond.toFixed(1)} packets per second`);
  // Evenly: a 16-bit WAV went out in bursts, 0.1–0.2 s apart (bench/README.md, hold-music-cost.ts).
  const longestGap = Math.max(...window.slice(1).map((p, i) => p.at - (window[i] as RtpPacket).at));
  assert.ok(longestGap < 100, `the longest gap between two packets is ${longestGap.toFixed(0)} ms`);
  assert.ok(
    window.every((p) => p.payloadType === PCMU && p.payload.length === 160),
    'PCMU, 20 ms per packet',
  );
  const silent = window.filter((p) => p.payload.every((b) => b === 0xff || b === 0x7f)).length;
  assert.ok(silent < window.length / 10, `${silent} of ${window.length} packets are pure silence`);
  const level = levelDbfs(window.map((p) => p.payload));
  assert.ok(level > -40 && level < -6, `music level ${level.toFixed(1)} dBFS: audible, not clipping`);
  console.log(
    `    hold music: ${perSecond.toFixed(1)} packets/s, longest gap ${longestGap.toFixed(0)} ms, ${level.toFixed(1)} dBFS`,
  );

  const stop = await rtpengine.ng({ command: 'stop media', 'call-id': callId, 'from-tag': 'patient' });
  assert.is(stop['result'], 'ok', JSON.stringify(stop));
  await rtpengine.ng({ command: 'delete', 'call-id': callId });
});

test('play media of the English intro.au plays the spoken welcome', async () => {
  const patient = await patientSocket();
  const callId = 'intro-test';
  await holdLeg(callId, patient.port);
  const play = await rtpengine.ng({
    command: 'play media',
    'call-id': callId,
    'from-tag': 'patient',
    file: `${INTRO}.au`,
  });
  assert.is(play['result'], 'ok', JSON.stringify(play));
  assert.ok(Number(play['duration']) > 4000, `duration ${String(play['duration'])} ms`);
  await patient.waitForPackets(100, 5000);
  assert.ok(levelDbfs(patient.packets.slice(0, 100).map((p) => p.payload)) > -45, 'the speech is audible');
  await rtpengine.ng({ command: 'delete', 'call-id': callId });
});

test('play media of a file that does not exist is an error, and rtpengine carries on', async () => {
  const patient = await patientSocket();
  const callId = 'missing-file-test';
  await holdLeg(callId, patient.port);
  const play = await rtpengine.ng({
    command: 'play media',
    'call-id': callId,
    'from-tag': 'patient',
    file: path.join(MEDIA, 'no-such-file.wav'),
  });
  assert.is(play['result'], 'error');
  assert.ok(await ngPing(rtpengine.ngHost, rtpengine.ngPort));
  await rtpengine.ng({ command: 'delete', 'call-id': callId });
});

test.run();
