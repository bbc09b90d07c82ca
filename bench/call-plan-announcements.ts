/**
 * What announcements while waiting (issue 15, docs/call-plan.md) cost and how well they keep time.
 * Starts its own stack (bench/stack.ts: redis-server, rtpengine, Kamailio, the sip app) with a
 * MEDIA_DIR of test tones (tests/helpers/prompt-tones.ts: every prompt 1 s of a tone of its own, the
 * hold music a 1 kHz tone), and runs two rounds of --callers patients on hold, no agent:
 *
 *   1. announcements off (the plan's interval 0), over --baseline seconds: the hold music alone;
 *   2. announcements every --interval seconds (position and expected wait, in one language), over
 *      --window seconds.
 *
 * For each round: rtpengine's CPU (its process group's utime+stime from /proc/<pid>/stat) per caller,
 * the other processes' too; the announcements' timing error at the patient (the first packet of an
 * announcement's tone vs when it was due: queuedAt + k × interval, the sip app's clock and the
 * patient's phone on one machine); the longest silence any caller heard (the longest gap between two
 * audible packets, RMS > 1000), also from the kernel's timestamps (bench/kernel-silence.ts).
 *
 *   npx tsc -b && bash scripts/with-node.sh node bench/dist/call-plan-announcements.js [--callers 100] [--interval 20] [--window 120] [--baseline 40]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { CallPlanStore } from '@deskline/store';
import { KernelCapture } from './kernel-silence.js';
import { CLINIC_NUMBER, CLOCK_TICKS, groupUsage, load, onStop, percentiles, startStack, stopAll } from './stack.js';

type PatientLineModule = typeof import('../tests/helpers/patient-line.js');
type PatientPhoneModule = typeof import('../tests/helpers/patient-phone.js');
type PromptTonesModule = typeof import('../tests/helpers/prompt-tones.js');
type CallPathModule = typeof import('../tests/helpers/call-path.js');
type PatientPhone = import('../tests/helpers/patient-phone.js').PatientPhone;
type PatientDialog = import('../tests/helpers/patient-line.js').PatientDialog;
type Received = import('../tests/helpers/patient-phone.js').Received;

const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '100' },
    interval: { type: 'string', default: '20' },
    window: { type: 'string', default: '120' },
    baseline: { type: 'string', default: '40' },
  },
});
const CALLERS = Math.max(1, Math.min(300, Number(values.callers)));
const INTERVAL_S = Math.max(10, Math.min(600, Number(values.interval)));
const WINDOW_S = Math.max(10, Math.min(600, Number(values.window)));
const BASELINE_S = Math.max(0, Math.min(600, Number(values.baseline)));
const HOLD_MUSIC_SECONDS = 30;
/** An announcement's tone counts from its third packet on (a packet half one file, half the next reads as another tone). */
const MIN_RUN_PACKETS = 3;

interface Caller {
  phone: PatientPhone;
  dialog: PatientDialog;
  id: string;
  queuedAt: number;
}

async function main(): Promise<void> {
  const [{ PatientLine }, { PatientPhone, isTone }, tones, { HOLD_MUSIC_HZ, readCall, toneWav }] = await Promise.all([
    load<PatientLineModule>('helpers/patient-line.js'),
    load<PatientPhoneModule>('helpers/patient-phone.js'),
    load<PromptTonesModule>('helpers/prompt-tones.js'),
    load<CallPathModule>('helpers/call-path.js'),
  ]);
  const mediaDir = mkdtempSync(path.join(os.tmpdir(), 'deskline-bench-announcements-'));
  onStop(() => rmSync(mediaDir, { recursive: true, force: true }));
  writeFileSync(path.join(mediaDir, 'hold-music.wav'), toneWav(HOLD_MUSIC_HZ, HOLD_MUSIC_SECONDS));
  tones.writePromptTones(mediaDir);

  const stack = await startStack({ rtpPorts: Math.max(200, CALLERS * 4 + 100), appEnv: { MEDIA_DIR: mediaDir } });
  const { redis, kamailio, app, processGroups, rtpengine } = stack;
  const plans = new CallPlanStore(redis);
  const line = await PatientLine.open(kamailio.sipPort);
  onStop(() => line.close());

  const round = async (announcements: CallPlan['announcements'], seconds: number): Promise<void> => {
    await plans.put({ ...DEFAULT_CALL_PLAN, announcements });
    const callers: Caller[] = [];
    const logFrom = app.logs.length;
    onStop(async () => {
      for (const caller of callers) await caller.dialog.close();
      for (const caller of callers) caller.phone.close();
    });
    // 10 at a time, as a burst of callers would come.
    for (let i = 0; i < CALLERS; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, CALLERS - i) }, async () => {
          const phone = await PatientPhone.open();
          const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, timeoutMs: 10_000 });
          const answered = await app.waitForLog(
            'the patient answered',
            (entry) => entry.msg === 'answered the patient' && entry['sipCallId'] === dialog.callId,
            { from: logFrom, timeoutMs: 10_000 },
          );
          const id = answered['callId'] as string;
          let queuedAt: number | undefined;
          for (let tries = 0; queuedAt === undefined && tries < 200; tries++) {
            queuedAt = (await readCall(redis, id))?.queuedAt;
            if (queuedAt === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
          }
          if (queuedAt === undefined) throw new Error(`call ${id} was not queued`);
          callers.push({ phone, dialog, id, queuedAt });
        }),
      );
    }
    const capture = await KernelCapture.start(rtpengine.portMin, rtpengine.portMax);
    onStop(() => capture.stop());
    const from = Date.now() + 1_000;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = processGroups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    // A stall of this process delays the packets' arrival times as a silence would: measured, to tell them apart.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    lag.disable();
    const until = Date.now();
    const after = processGroups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    const wallS = (until - from) / 1000;
    const kernelSilences = await capture.longestSilences(from, until);

    const title =
      announcements.intervalSeconds === 0
        ? `announcements off, ${callers.length} callers on hold`
        : `announcements every ${announcements.intervalSeconds} s, ${callers.length} callers on hold`;
    console.log(`\n${title}, over ${wallS.toFixed(1)} s:`);
    processGroups.forEach(([name], index) => {
      const b = before[index];
      const a = after[index];
      if (!a || !b) return;
      const cpu = ((a.ticks - b.ticks) / CLOCK_TICKS / wallS) * 100;
      console.log(
        `   ${name.padEnd(12)} CPU ${cpu.toFixed(1)}% of a core (${(cpu / callers.length).toFixed(3)}% per caller), RSS ${(a.rssKb / 1024).toFixed(0)} MB`,
      );
    });

    const announcementHz = tones.ANNOUNCEMENT_HZ;
    const errors: number[] = [];
    let longestSilence = 0;
    let longestAt = '';
    const callerSilences: number[] = [];
    let gapsOver500 = 0;
    let announcementsHeard = 0;
    const name = (packet: Received | undefined): string => {
      if (!packet) return 'nothing';
      if (isTone(packet, HOLD_MUSIC_HZ)) return 'music';
      return announcementHz.some((hz) => isTone(packet, hz)) ? 'prompt' : `${packet.frequency.toFixed(0)} Hz`;
    };
    for (const caller of callers) {
      const packets = caller.phone.received.filter((packet) => packet.at >= from && packet.at <= until);
      let previous: (typeof packets)[number] | undefined;
      let callerLongest = 0;
      for (const packet of packets) {
        if (packet.rms <= 1000) continue;
        if (previous !== undefined) {
          const gap = packet.at - previous.at;
          if (gap > 500) gapsOver500 += 1;
          callerLongest = Math.max(callerLongest, gap);
          if (gap > longestSilence) {
            longestSilence = gap;
            longestAt = `${name(previous)} → ${name(packet)}, ${((previous.at - caller.queuedAt) / 1000).toFixed(1)} s after queuing`;
          }
        }
        previous = packet;
      }
      callerSilences.push(callerLongest);
      // An announcement starts where a run of an announcement tone follows the music.
      let run = 0;
      let runStart = 0;
      let inAnnouncement = false;
      for (const packet of packets) {
        const announcing = announcementHz.some((hz) => isTone(packet, hz));
        const music = isTone(packet, HOLD_MUSIC_HZ);
        if (announcing) {
          if (run === 0) runStart = packet.at;
          run += 1;
          if (run === MIN_RUN_PACKETS && !inAnnouncement) {
            inAnnouncement = true;
            announcementsHeard += 1;
            const interval = announcements.intervalSeconds * 1000;
            const k = Math.max(1, Math.round((runStart - caller.queuedAt) / interval));
            errors.push(runStart - (caller.queuedAt + k * interval));
          }
        } else {
          run = 0;
          if (music) inAnnouncement = false;
        }
      }
    }
    if (announcements.intervalSeconds > 0) {
      const absolute = errors.map(Math.abs);
      console.log(
        `   announcements heard: ${announcementsHeard} (${(announcementsHeard / callers.length).toFixed(1)} per caller); |start − due| at the patient: ${percentiles(absolute)}`,
      );
      const played = app.logs
        .slice(logFrom)
        .filter((entry) => entry.msg === 'announcement playing')
        .map((entry) => Number(entry['lateMs']));
      console.log(`   the sip app: due → rtpengine's answer to the first prompt: ${percentiles(played)}`);
      const asked = app.logs
        .slice(logFrom)
        .filter((entry) => entry.msg === 'announcement playing')
        .map((entry) => Number(entry['askedMs']));
      console.log(`   of which due → asked (timer and Redis reads): ${percentiles(asked)}`);
    } else {
      console.log(`   announcements heard: ${announcementsHeard} (expected 0)`);
    }
    console.log(
      `   longest silence any caller heard: ${longestSilence} ms (${longestAt}); gaps over 500 ms: ${gapsOver500}`,
    );
    console.log(`   each caller's longest silence: ${percentiles(callerSilences)}`);
    const kernel = callers.map((caller) => kernelSilences.get(caller.phone.port) ?? Infinity);
    console.log(
      `   the same from the kernel's timestamps (dumpcap on lo, what rtpengine sent): each caller's longest silence ${percentiles(kernel)}`,
    );
    console.log(
      `   the bench's own event loop stalled up to ${(lag.max / 1e6).toFixed(0)} ms (p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms): silences that short may be the bench's`,
    );

    for (const caller of callers) await caller.dialog.hangUp(5000).catch(() => undefined);
    // Their senders would go on sending to rtpengine ports that the next round's calls get.
    for (const caller of callers.splice(0)) caller.phone.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  };

  if (BASELINE_S > 0) await round({ intervalSeconds: 0, expectedWait: true, offerCallback: false }, BASELINE_S);
  await round({ intervalSeconds: INTERVAL_S, expectedWait: true, offerCallback: false }, WINDOW_S);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
