/**
 * What playing the hold music costs rtpengine, per caller, and whether the callers still hear it right.
 *
 * Starts rtpengine alone (pbx-config/rtpengine/rtpengine.conf, as the launcher, Docker and the tests
 * run it, on free ports on 127.0.0.1) and sets up `--callers` calls with the sip app's own code
 * (`MediaSession`: the patient's offer, the queue's placeholder answer, then `play media` of the hold
 * music with the same repeat count as a waiting call). Each caller is a UDP socket in this process
 * offering PCMU, PCMA and telephone-event at 20 ms, as a trunk does; unless `--silent`, it sends
 * PCMU back at 50 packets/s, as most trunks do while their caller listens. After 3 s, over `--window`
 * seconds: rtpengine's CPU (utime+stime of the process, every thread, from /proc/<pid>/stat), minus
 * what it spends idle over the same window measured before the calls, per caller; and at every caller
 * the packets per second, the longest gap between two packets, and how well what arrived matches the
 * file (aligned on the file and compared sample by sample: the SNR in dB; G.711 itself gives about
 * 38 dB on this music, a wrong or garbled stream about 0).
 *
 * Each `--variant` runs in a fresh rtpengine, one after the other (VARIANTS below):
 *   before   the hold music as 16-bit PCM WAV, rtpengine's default 4 media threads and timer slack:
 *            Deskline before issue 15
 *   after    G.711 μ-law .au, one media thread, 2 ms timer slack: Deskline since issue 15
 *   pcmu, pcma, pcmu-au, pcma-au   one change at a time: μ-law or A-law in a WAV or a .au
 *            (the callers offer PCMU first, so A-law is converted), default threads and slack
 *   pcmu-au-1t, s16-1t-slack2, pcmu-au-1t-slack5   the other combinations measured
 *   after-40ms   after, to callers offering a=ptime:40 (25 packets/s: not what a 20 ms trunk asks for)
 *
 *   npx tsc -b && bash scripts/with-node.sh node bench/dist/hold-music-cost.js \
 *     [--callers 50,100] [--window 60] [--variant before,after] [--silent]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { freePort } from '@deskline/scripts/free-port';
import { MediaSession } from '@deskline/sip/media/media-session';
import { NgClient } from '@deskline/sip/media/ng-client';
import { RtpEngine } from '@deskline/sip/media/rtpengine';
import { HOLD_MUSIC_REPEATS } from '@deskline/sip/calls/steps/wait-with-music';
import { CLOCK_TICKS, load, onStop, root } from './stack.js';

/** A file made from pbx-config/media/hold-music.wav by sox: its encoding and its container. */
type MusicFile = `${'s16' | 'pcmu' | 'pcma'}.${'wav' | 'au'}`;

interface Variant {
  file: MusicFile;
  rtpengineArgs: string[];
  ptimeMs: number;
  /** rtpengine's timer slack (/proc/self/timerslack_ns before exec; every thread inherits it), or the kernel's 50 µs. */
  timerSlackNs?: number;
}

/** rtpengine 10.5's default on this 2-core machine: as many as its worker threads, at least 4. */
const DEFAULT_MEDIA_THREADS = ['--media-num-threads=4'];
const ONE_MEDIA_THREAD = ['--media-num-threads=1'];

const VARIANTS: Record<string, Variant> = {
  // Before issue 15: 16-bit WAV, rtpengine's default media threads and timer slack.
  before: { file: 's16.wav', rtpengineArgs: DEFAULT_MEDIA_THREADS, ptimeMs: 20 },
  pcmu: { file: 'pcmu.wav', rtpengineArgs: DEFAULT_MEDIA_THREADS, ptimeMs: 20 },
  pcma: { file: 'pcma.wav', rtpengineArgs: DEFAULT_MEDIA_THREADS, ptimeMs: 20 },
  'pcmu-au': { file: 'pcmu.au', rtpengineArgs: DEFAULT_MEDIA_THREADS, ptimeMs: 20 },
  'pcma-au': { file: 'pcma.au', rtpengineArgs: DEFAULT_MEDIA_THREADS, ptimeMs: 20 },
  'pcmu-au-1t': { file: 'pcmu.au', rtpengineArgs: ONE_MEDIA_THREAD, ptimeMs: 20 },
  's16-1t-slack2': { file: 's16.wav', rtpengineArgs: ONE_MEDIA_THREAD, ptimeMs: 20, timerSlackNs: 2_000_000 },
  // Since issue 15: μ-law .au, one media thread (rtpengine.conf), 2 ms timer slack (the launcher, Docker).
  after: { file: 'pcmu.au', rtpengineArgs: ONE_MEDIA_THREAD, ptimeMs: 20, timerSlackNs: 2_000_000 },
  'pcmu-au-1t-slack5': { file: 'pcmu.au', rtpengineArgs: ONE_MEDIA_THREAD, ptimeMs: 20, timerSlackNs: 5_000_000 },
  'after-40ms': { file: 'pcmu.au', rtpengineArgs: ONE_MEDIA_THREAD, ptimeMs: 40, timerSlackNs: 2_000_000 },
};

const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '50,100' },
    window: { type: 'string', default: '60' },
    variant: { type: 'string', default: 'before,after' },
    silent: { type: 'boolean', default: false },
    source: { type: 'string', default: path.join(root, 'pbx-config/media/hold-music.au') },
  },
});
const callerCounts = values.callers.split(',').map(Number);
const windowSeconds = Number(values.window);
const variantNames = values.variant.split(',');
for (const name of variantNames) if (!VARIANTS[name]) throw new Error(`unknown variant ${name}`);
const WARMUP_MS = 3000;
const logger = pino({ level: 'silent' });

// ---- the music, as samples, to compare with what arrives ----

const work = mkdtempSync(path.join(os.tmpdir(), 'deskline-hold-music-cost-'));
const SOX_ENCODING = { s16: ['-b', '16', '-e', 'signed-integer'], pcmu: ['-e', 'u-law'], pcma: ['-e', 'a-law'] };
const fileOf = (file: MusicFile): string => path.join(work, `hold-music-${file}`);
for (const variant of Object.values(VARIANTS)) {
  const [encoding = 's16'] = variant.file.split('.') as Array<keyof typeof SOX_ENCODING>;
  execFileSync('sox', [values.source, '-r', '8000', '-c', '1', ...SOX_ENCODING[encoding], fileOf(variant.file)]);
}
const reference = pcm16Samples(
  execFileSync('sox', [values.source, '-t', 'raw', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-']),
);

function pcm16Samples(raw: Buffer): Float64Array {
  const samples = new Float64Array(raw.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readInt16LE(2 * i);
  return samples;
}

type RtpPacketsModule = typeof import('../tests/helpers/rtp-packets.js');
type PlaybackModule = typeof import('../tests/helpers/rtpengine-playback.js');
const { ulawToLinear } = await load<RtpPacketsModule>('helpers/rtp-packets.js');
const playback = await load<PlaybackModule>('helpers/rtpengine-playback.js');
function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = exponent === 0 ? t + 8 : (t + 0x108) << (exponent - 1);
  return a & 0x80 ? t : -t;
}
/**
 * How closely `received` (a stretch of decoded samples) matches the music: aligned on the loop by
 * 20 ms energy envelopes, then to the sample; the SNR (dB) of the received signal against the file.
 */
function matchSnr(received: Float64Array): number {
  const frame = 160;
  const envelope = (samples: Float64Array, start: number, frames: number): number[] => {
    const out: number[] = [];
    for (let f = 0; f < frames; f++) {
      let energy = 0;
      for (let i = 0; i < frame; i++) {
        const s = samples[(start + f * frame + i) % samples.length] ?? 0;
        energy += s * s;
      }
      out.push(Math.sqrt(energy / frame));
    }
    return out;
  };
  const probeFrames = Math.min(100, Math.floor(received.length / frame) - 2);
  if (probeFrames < 20) return Number.NaN;
  const probe = envelope(received, frame, probeFrames);
  const loopFrames = Math.floor(reference.length / frame);
  const full = envelope(reference, 0, loopFrames);
  let bestFrame = 0;
  let bestError = Infinity;
  for (let offset = 0; offset < loopFrames; offset++) {
    let error = 0;
    for (let f = 0; f < probeFrames; f++) error += ((probe[f] ?? 0) - (full[(offset + f) % loopFrames] ?? 0)) ** 2;
    if (error < bestError) [bestError, bestFrame] = [error, offset];
  }
  // To the sample: the shift around that frame with the least error over the probe.
  const length = probeFrames * frame;
  const at = (shift: number, i: number): number =>
    reference[(((bestFrame * frame + shift + i) % reference.length) + reference.length) % reference.length] ?? 0;
  let best = { error: Infinity, signal: 0 };
  for (let shift = -2 * frame; shift <= 2 * frame; shift++) {
    let error = 0;
    let signal = 0;
    for (let i = 0; i < length; i++) {
      const expected = at(shift, i);
      error += ((received[frame + i] ?? 0) - expected) ** 2;
      signal += expected * expected;
    }
    if (error < best.error) best = { error, signal };
  }
  return 10 * Math.log10(best.signal / Math.max(best.error, 1));
}

// ---- rtpengine ----

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function startRtpengine(
  extra: string[],
  ports: number,
  timerSlackNs = 0,
): Promise<{ proc: ChildProcess; ngPort: number }> {
  const ngPort = await freePort('127.0.0.1', ['udp', 'tcp']);
  // Below the kernel's ephemeral ports (32768 up), where the callers' sockets are: rtpengine binds its
  // ports with address reuse, so a caller's port in its range would get another caller's packets.
  const portMin = 20000 + 2 * Math.floor(Math.random() * ((12000 - ports) / 2));
  const proc = spawn(
    'sh',
    [
      '-c',
      `${timerSlackNs > 0 ? `echo ${timerSlackNs} > /proc/self/timerslack_ns && ` : ''}exec rtpengine "$@"`,
      'rtpengine',
      `--config-file=${path.join(root, 'pbx-config/rtpengine/rtpengine.conf')}`,
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${portMin}`,
      `--port-max=${portMin + ports - 1}`,
      // Only warnings: logging a line per call at level 6 is not what is being measured.
      '--log-level=4',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const ng = await NgClient.open({ host: '127.0.0.1', port: ngPort, logger, timeoutMs: 200, attempts: 3 });
  const engine = new RtpEngine(ng);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await engine.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
  await ng.close();
  return { proc, ngPort };
}

async function stopRtpengine(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const gone = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await gone;
}

// ---- a caller ----

interface Caller {
  socket: dgram.Socket;
  port: number;
  /** rtpengine's port for this caller (from the 200 OK's SDP). */
  remotePort: number;
  arrivals: number[];
  payloads: Array<{ seq: number; payload: Buffer; pt: number }>;
  recording: boolean;
}

/** A trunk's offer: the tests' plain-RTP SDP (PCMU, PCMA, telephone-event) with the packet time asked for. */
function callerOffer(port: number, ptimeMs: number): string {
  return playback.sdp(port).replace('a=sendrecv', `a=ptime:${ptimeMs}\r\na=sendrecv`);
}

async function openCaller(): Promise<Caller> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const caller: Caller = {
    socket,
    port: socket.address().port,
    remotePort: 0,
    arrivals: [],
    payloads: [],
    recording: false,
  };
  // Only from rtpengine's port for this caller: other rtpengines on the machine (other test runs) bind
  // their ports with address reuse, and one may share a port with a caller's socket.
  socket.on('message', (packet, from) => {
    if (!caller.recording || packet.length < 12 || from.port !== caller.remotePort) return;
    caller.arrivals.push(performance.now());
    caller.payloads.push({ seq: packet.readUInt16BE(2), payload: packet.subarray(12), pt: (packet[1] ?? 0) & 0x7f });
  });
  return caller;
}

interface CallerFigures {
  pps: number;
  maxGapMs: number;
  /** Gaps between two packets over 100 ms, per minute. */
  longGapsPerMinute: number;
  snrDb: number;
  rms: number;
}

function figuresOf(caller: Caller, seconds: number): CallerFigures {
  let maxGapMs = caller.arrivals.length === 0 ? seconds * 1000 : 0;
  let longGaps = 0;
  for (let i = 1; i < caller.arrivals.length; i++) {
    const gap = (caller.arrivals[i] ?? 0) - (caller.arrivals[i - 1] ?? 0);
    maxGapMs = Math.max(maxGapMs, gap);
    if (gap > 100) longGaps++;
  }
  // Each packet's samples where its sequence number puts them (a lost packet leaves silence).
  const firstSeq = caller.payloads[0]?.seq ?? 0;
  const perPacket = caller.payloads[0]?.payload.length ?? 160;
  const slots = Math.min(caller.payloads.length + 100, 8000);
  const samples = new Float64Array(slots * perPacket);
  for (const { seq, payload, pt } of caller.payloads) {
    const slot = (seq - firstSeq + 0x10000) % 0x10000;
    if (slot >= slots) continue;
    for (let i = 0; i < payload.length; i++)
      samples[slot * perPacket + i] = pt === 8 ? alawToLinear(payload[i] ?? 0) : ulawToLinear(payload[i] ?? 0);
  }
  let energy = 0;
  for (const s of samples) energy += s * s;
  return {
    pps: caller.payloads.length / seconds,
    maxGapMs,
    longGapsPerMinute: (longGaps / seconds) * 60,
    snrDb: matchSnr(samples.subarray(0, 8000 * 3)),
    rms: Math.sqrt(energy / Math.max(samples.length, 1)),
  };
}

// ---- one run ----

interface RunFigures {
  variant: string;
  callers: number;
  idlePct: number;
  cpuPct: number;
  perCallerPct: number;
  playMs: number[];
  pps: number[];
  maxGapMs: number[];
  longGapsPerMinute: number[];
  /** The longest this process's event loop was late over the window, ms: a gap this long may be ours. */
  loopDelayMaxMs: number;
  snrDb: number[];
  rms: number[];
}

async function run(name: string, variant: Variant, count: number): Promise<RunFigures> {
  const { proc, ngPort } = await startRtpengine(variant.rtpengineArgs, 4 * count + 40, variant.timerSlackNs);
  const pid = proc.pid ?? 0;
  onStop(() => stopRtpengine(proc));
  const callers: Caller[] = [];
  let sender: NodeJS.Timeout | undefined;
  try {
    // rtpengine's own cost with no call, over the same window.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleStart = cpuTicks(pid);
    const idleT0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.min(windowSeconds, 10) * 1000));
    const idlePct = ((cpuTicks(pid) - idleStart) / CLOCK_TICKS / ((performance.now() - idleT0) / 1000)) * 100;

    const ng = await NgClient.open({ host: '127.0.0.1', port: ngPort, logger });
    const engine = new RtpEngine(ng);
    const playMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const caller = await openCaller();
      callers.push(caller);
      const media = new MediaSession(engine, `hold-music-cost-${i}`, `patient-${i}`, logger);
      const answer = await media.answerForQueue(callerOffer(caller.port, variant.ptimeMs));
      caller.remotePort = Number(/^m=audio (\d+)/m.exec(answer)?.[1]);
      const t0 = performance.now();
      await media.playToPatient(fileOf(variant.file), HOLD_MUSIC_REPEATS);
      playMs.push(performance.now() - t0);
    }
    await ng.close();
    if (!values.silent) {
      // Every caller sends a packet of quiet PCMU every 20 ms, as a trunk does while its caller listens.
      const payload = Buffer.alloc(160, 0xff); // μ-law silence
      let seq = 0;
      sender = setInterval(() => {
        seq = (seq + 1) & 0xffff;
        for (const caller of callers) {
          const header = Buffer.alloc(12);
          header[0] = 0x80;
          header[1] = 0;
          header.writeUInt16BE(seq, 2);
          header.writeUInt32BE((seq * 160) >>> 0, 4);
          header.writeUInt32BE(caller.port, 8);
          caller.socket.send(Buffer.concat([header, payload]), caller.remotePort, '127.0.0.1');
        }
      }, 20);
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    for (const caller of callers) caller.recording = true;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const start = cpuTicks(pid);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowSeconds * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const cpuPct = ((cpuTicks(pid) - start) / CLOCK_TICKS / seconds) * 100;
    for (const caller of callers) caller.recording = false;
    loop.disable();
    const figures = callers.map((caller) => figuresOf(caller, seconds));
    if (process.env['HOLD_MUSIC_COST_DUMP']) {
      const a = callers[0]?.arrivals ?? [];
      console.log(
        'gaps of caller 0:',
        a
          .slice(1, 80)
          .map((t, i) => (t - (a[i] ?? 0)).toFixed(0))
          .join(' '),
      );
      const first = callers[0]?.payloads ?? [];
      console.log(
        'seq of caller 0:',
        first
          .slice(0, 40)
          .map((p) => p.seq)
          .join(' '),
      );
    }
    return {
      variant: name,
      callers: count,
      idlePct,
      cpuPct,
      perCallerPct: (cpuPct - idlePct) / count,
      playMs,
      pps: figures.map((f) => f.pps),
      maxGapMs: figures.map((f) => f.maxGapMs),
      longGapsPerMinute: figures.map((f) => f.longGapsPerMinute),
      loopDelayMaxMs: loop.max / 1e6,
      snrDb: figures.map((f) => f.snrDb),
      rms: figures.map((f) => f.rms),
    };
  } finally {
    if (sender) clearInterval(sender);
    for (const caller of callers) caller.socket.close();
    await stopRtpengine(proc);
  }
}

function range(samples: number[], digits = 1): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(digits);
  return `${at(0)} / ${at(0.5)} / ${at(1)}`;
}

const results: RunFigures[] = [];
try {
  console.log(
    `hold music cost: ${callerCounts.join(', ')} callers, ${windowSeconds} s window, callers ${values.silent ? 'silent' : 'sending PCMU at 50 pps'}; ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  for (const count of callerCounts)
    for (const name of variantNames) {
      const result = await run(name, VARIANTS[name] as Variant, count);
      results.push(result);
      console.log(
        `${name.padEnd(9)} ${String(count).padStart(3)} callers: rtpengine ${result.cpuPct.toFixed(1)} % of a core ` +
          `(idle ${result.idlePct.toFixed(2)} %), ${result.perCallerPct.toFixed(3)} % per caller; ` +
          `per caller min / p50 / max: ${range(result.pps)} packets/s, longest gap ${range(result.maxGapMs)} ms, ` +
          `gaps over 100 ms ${range(result.longGapsPerMinute)} a minute (this process's event loop up to ${result.loopDelayMaxMs.toFixed(0)} ms late), ` +
          `SNR against the file ${range(result.snrDb)} dB, RMS ${range(result.rms, 0)}; ` +
          `play media ${range(result.playMs)} ms; load ${os.loadavg()[0]?.toFixed(1)}`,
      );
    }
  console.log(
    '\n| variant | callers | rtpengine CPU % | idle % | per caller % | packets/s (min / p50 / max) | longest gap ms (max) | gaps > 100 ms a minute (p50) | SNR dB (min) | play media ms (p50) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const sortedGap = Math.max(...r.maxGapMs);
    const minSnr = Math.min(...r.snrDb);
    const playP50 = [...r.playMs].sort((a, b) => a - b)[Math.floor(r.playMs.length / 2)] ?? NaN;
    console.log(
      `| ${r.variant} | ${r.callers} | ${r.cpuPct.toFixed(1)} | ${r.idlePct.toFixed(2)} | ${r.perCallerPct.toFixed(3)} | ${range(r.pps)} | ${sortedGap.toFixed(0)} | ${range(r.longGapsPerMinute).split(' / ')[1]} | ${minSnr.toFixed(1)} | ${playP50.toFixed(1)} |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
