/**
 * What a waiting patient hears of the call plan's announcements (issue 15), read off the RTP their
 * phone receives (each prompt a tone of its own, tests/helpers/prompt-tones.ts), and what the sip app
 * logged of them: shared by the tests/integration/sip/call-plan-announcements*.test.ts suites.
 */
import type { CallView } from '@deskline/protocol';
import { CallStore } from '@deskline/sip/calls/call-store';
import type { Redis } from 'ioredis';
import { CLINIC_NUMBER } from './call-path.js';
import { patientCalls, type CallPlanContext } from './call-plan-stack.js';
import type { PatientDialog } from './patient-line.js';
import { isTone, type PatientPhone, type Received } from './patient-phone.js';
import type { LogLine } from './sip-app.js';

const MINUTE = 60_000;
/** The interval the suites set (the acceptance: every 10 s). */
export const INTERVAL_MS = 10_000;
/** How far from its due time an announcement may start (the acceptance: 10 ± 2 s). */
export const ON_TIME_MS = 2_000;
/** 60 ms. */
const MIN_RUN_PACKETS = 3;

export interface WaitingCaller {
  media: PatientPhone;
  dialog: PatientDialog;
  id: string;
  queuedAt: number;
}

/** A patient calls the clinic line and is queued (hung up after the test); resolves with the call's id and queuedAt. */
export async function waitingCaller(context: CallPlanContext, from?: string): Promise<WaitingCaller> {
  const call = await patientCalls(context, from);
  context.open.push({ close: () => call.dialog.hangUp().catch(() => undefined) });
  const waiting = await context.events.waitFor({ callId: call.id, state: 'waiting' });
  const { queuedAt } = waiting.call;
  if (queuedAt === undefined) throw new Error(`call ${call.id} waits with no queuedAt`);
  return { ...call, queuedAt };
}

/**
 * The first packet of tone `hz` that arrived at or after `since` and began a run of MIN_RUN_PACKETS
 * of it: a lone packet where the music changes may read as any frequency.
 */
export function toneFrom(phone: PatientPhone, hz: number, since: number, timeoutMs: number): Promise<Received> {
  return phone.waitUntil(
    `${hz} Hz from ${new Date(since).toISOString()}`,
    (received) =>
      received.find(
        (packet, i) =>
          packet.at >= since &&
          received.length >= i + MIN_RUN_PACKETS &&
          received.slice(i, i + MIN_RUN_PACKETS).every((p) => isTone(p, hz)),
      ),
    timeoutMs,
  );
}

/**
 * The tones heard from `since` to `until`, in order (hz, first packet's time). A tone counts once it
 * lasts MIN_RUN_PACKETS packets: a packet half music, half silence reads as another frequency.
 */
export function toneRuns(
  phone: PatientPhone,
  since: number,
  until: number,
  tones: readonly number[],
): { hz: number; at: number }[] {
  const runs: { hz: number; at: number; packets: number }[] = [];
  for (const packet of phone.received) {
    if (packet.at < since || packet.at > until) continue;
    const hz = tones.find((tone) => isTone(packet, tone));
    if (hz === undefined) continue;
    const last = runs[runs.length - 1];
    if (last?.hz === hz) last.packets += 1;
    else runs.push({ hz, at: packet.at, packets: 1 });
  }
  const heard: { hz: number; at: number }[] = [];
  for (const run of runs) {
    if (run.packets < MIN_RUN_PACKETS) continue;
    if (heard[heard.length - 1]?.hz !== run.hz) heard.push({ hz: run.hz, at: run.at });
  }
  return heard;
}

/** The longest time between two consecutive audible packets from `since` to `until`. */
export function longestSilenceMs(phone: PatientPhone, since: number, until: number): number {
  let longest = 0;
  let previous: number | undefined;
  for (const packet of phone.received) {
    if (packet.at < since || packet.at > until || packet.rms <= 1000) continue;
    if (previous !== undefined) longest = Math.max(longest, packet.at - previous);
    previous = packet.at;
  }
  return longest;
}

/** The 'announcement playing' lines in `logs` (of one sip app instance, or several) for call `id`. */
export function announcementsOf(
  logs: readonly LogLine[],
  id: string,
): Array<{ position: number; prompts: string[]; dueAt: number }> {
  return logs
    .filter((line) => line.msg === 'announcement playing' && line['callId'] === id)
    .map((line) => ({
      position: line['position'] as number,
      prompts: line['prompts'] as string[],
      dueAt: line['dueAt'] as number,
    }));
}

/** An answered call of the last hour (talk `talkMs`, answered by anna), recorded as the sip app records a call that ended. */
export async function seedAnsweredCall(redis: Redis, index: number, talkMs: number): Promise<void> {
  const answeredAt = Date.now() - 20 * MINUTE;
  const view: CallView = {
    id: `seeded-${index}`,
    from: '+48600000000',
    line: CLINIC_NUMBER,
    state: 'ended',
    startedAt: answeredAt - MINUTE,
    queuedAt: answeredAt - MINUTE,
    answeredAt,
    endedAt: answeredAt + talkMs,
    agentUserId: 'anna',
  };
  await new CallStore(redis).record(view);
}
