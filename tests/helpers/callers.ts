/**
 * Patients calling the clinic line through Kamailio, as the restart tests use them: each with its SIP
 * side (PatientLine) and media side (PatientPhone), what each hears, and the longest silence.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as assert from 'uvu/assert';
import { CLINIC_NUMBER, type CallPath } from './call-path.js';
import { PatientLine, type PatientDialog } from './patient-line.js';
import { CATCH_UP_MS, PatientPhone, isTone, packetsPerSecond, type Received } from './patient-phone.js';

/** How many times `listen` measures when this process stood still while it listened. */
const LISTEN_ATTEMPTS = 3;

/**
 * What the phone receives over the next `ms`. The phones at both ends of a test's call (the patient,
 * the agent's or employee's media endpoint) are stand-ins running in this process: while it stands
 * still (a loaded machine: 2 cores shared by several test runs), they send nothing and stamp nothing
 * that arrives, and a window measured then says how the test process ran, not what a user would hear
 * (one run heard "0.0 packets/s": a single packet, stamped after a stall longer than the window). So
 * a window in which this process stood still longer than its phones make up for (CATCH_UP_MS) is
 * measured again, up to LISTEN_ATTEMPTS times in all, each time said; the last measurement is
 * returned whatever it is. A silence of the product (rtpengine, the sip app) stalls nothing here and
 * still shows.
 */
export async function listen(phone: PatientPhone, what: string, ms = 2_000): Promise<Received[]> {
  for (let attempt = 1; ; attempt++) {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let packets: Received[];
    try {
      packets = await listenOnce(phone, what, ms);
    } finally {
      delay.disable();
    }
    const stoodStillMs = delay.max / 1e6;
    if (stoodStillMs <= CATCH_UP_MS || attempt === LISTEN_ATTEMPTS) return packets;
    console.log(
      `  (${what}: the test process stood still for ${stoodStillMs.toFixed(0)} ms of the ${ms} ms; listening again)`,
    );
  }
}

function listenOnce(phone: PatientPhone, what: string, ms: number): Promise<Received[]> {
  const from = Date.now();
  return phone.waitUntil(
    what,
    (received) => {
      const last = received[received.length - 1];
      return last && last.at >= from + ms ? received.filter((packet) => packet.at >= from) : undefined;
    },
    ms + 3_000,
  );
}

/** About 50 packets/s, nearly all of them the `hz` tone; returns the rate. */
export function assertHears(packets: readonly Received[], hz: number, what: string): number {
  const pps = packetsPerSecond(packets);
  const audible = packets.filter((packet) => isTone(packet, hz)).length / Math.max(packets.length, 1);
  assert.ok(pps > 42 && pps < 58, `${what}: ${pps.toFixed(1)} packets/s`);
  assert.ok(audible > 0.9, `${what}: ${(audible * 100).toFixed(0)}% of the packets are the ${hz} Hz tone`);
  return pps;
}

/**
 * The longest silence a restart may cause at either end of a call, as the restart tests assert it:
 * the goal is under 2 s, and a loaded machine (2 cores shared by several test runs) gets a margin.
 */
export const RESTART_GAP_LIMIT_MS = 3_000;

/** The longest silence the phone heard from `from` to `to` (ms between packets' arrivals, and at both ends). */
export function maxGap(phone: PatientPhone, from: number, to: number): number {
  const times = [
    from,
    ...phone.received.filter((packet) => packet.at >= from && packet.at <= to).map((packet) => packet.at),
    to,
  ];
  let max = 0;
  for (let i = 1; i < times.length; i++) max = Math.max(max, (times[i] as number) - (times[i - 1] as number));
  return max;
}

export interface Caller {
  phone: PatientPhone;
  dialog: PatientDialog;
}

/** Opens patients' calls; `close()` hangs up whatever a failed test left. */
export class Callers {
  private readonly open: Array<{ close(): unknown }> = [];
  private constructor(readonly line: PatientLine) {}

  static async open(path: CallPath): Promise<Callers> {
    return new Callers(await PatientLine.open(path.kamailioPort));
  }

  async call(): Promise<Caller> {
    const phone = await PatientPhone.open();
    this.open.push(phone);
    const dialog = await this.line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    this.open.push(dialog);
    return { phone, dialog };
  }

  keep(item: { close(): unknown }): void {
    this.open.push(item);
  }

  /**
   * Hangs up every call opened since the last time and closes their phones: after each test, so that
   * a test that failed halfway does not leave a call up for the next to trip over.
   */
  async endAll(): Promise<void> {
    const items = this.open.splice(0);
    for (const item of items) await item.close();
  }

  async close(): Promise<void> {
    await this.endAll();
    await this.line.close();
  }
}
