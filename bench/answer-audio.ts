/**
 * Answer → first audio with a real browser as the agent: headless Chromium runs the e2e tests' JsSIP
 * page (tests/helpers/browser-phone.ts), registered with Kamailio with ephemeral credentials; the
 * patient is the tests' PatientLine (SIP over UDP) and PatientPhone (RTP, a 300 Hz tone). Starts its
 * own stack (bench/stack.ts) and stops it at the end, on an error and on Ctrl-C; 127.0.0.1 only.
 *
 *   npx tsc -b && node bench/dist/answer-audio.js [--calls 20]
 *
 * t0 = in the page, Date.now() immediately before JsSIP's `session.answer()` is called (the 200 OK
 * leaves later, once Chromium has gathered its ICE candidates; answer() → JsSIP `confirmed`, the ACK,
 * is printed too). Then, on the same clock (one machine, epoch ms):
 *  (a) the first RTP packet at the patient's UDP socket whose SSRC is not the hold music's, i.e. the
 *      first packet of the browser's media that rtpengine forwards (PCMU, SRTP → RTP);
 *  (b) in the page, the first 20 ms analyser reading on the remote track with RMS > 0.02 (the level
 *      the e2e test calls "heard"), polled every 2 ms, i.e. the patient's tone audible in the browser.
 */
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { CLINIC_NUMBER, credentials, load, onStop, percentiles, startStack, stopAll, until } from './stack.js';

type BrowserHelpers = typeof import('../tests/helpers/browser.js');
type BrowserPhoneModule = typeof import('../tests/helpers/browser-phone.js');
type PatientLineModule = typeof import('../tests/helpers/patient-line.js');
type PatientPhoneModule = typeof import('../tests/helpers/patient-phone.js');
type StaffModule = typeof import('../tests/helpers/staff.js');

const { values } = parseArgs({ options: { calls: { type: 'string', default: '20' } } });
const CALLS = Math.max(1, Math.min(200, Number(values.calls)));
const WARMUP = 2;
const TIMEOUT = 10_000;
const USER = 'bench-browser';
const HEARD_RMS = 0.02;

const [{ launchBrowser }, { BrowserPhone, PhonePageServer }, { PatientLine }, { PatientPhone }, { Staff }] =
  await Promise.all([
    load<BrowserHelpers>('helpers/browser.js'),
    load<BrowserPhoneModule>('helpers/browser-phone.js'),
    load<PatientLineModule>('helpers/patient-line.js'),
    load<PatientPhoneModule>('helpers/patient-phone.js'),
    load<StaffModule>('helpers/staff.js'),
  ]);

interface Packet {
  at: number;
  ssrc: number;
  payloadType: number;
}

/** The page's state as browser-phone.ts keeps it, plus this bench's fields. */
type BenchWindow = Window & {
  __phone: { peak: number; confirmedAt?: number; session?: { answer(options: object): void } };
  __bench?: { answerAt: number; heardAt?: number };
};

/** Calls JsSIP's answer() as BrowserPhone.answer does, stamping t0 and watching the analyser's peak. */
function answerStamped(page: Page): Promise<number> {
  return page.evaluate((threshold) => {
    const w = window as unknown as BenchWindow;
    const state = w.__phone;
    state.peak = 0;
    const bench: { answerAt: number; heardAt?: number } = { answerAt: Date.now() };
    w.__bench = bench;
    state.session?.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [], bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' },
    });
    // Bounded: gives up after 10 s.
    const watcher = setInterval(() => {
      if (state.peak > threshold) bench.heardAt = Date.now();
      if (bench.heardAt !== undefined || Date.now() - bench.answerAt > 10_000) clearInterval(watcher);
    }, 2);
    return bench.answerAt;
  }, HEARD_RMS);
}

try {
  const stack = await startStack({ rtpPorts: 200, appEnv: { RING_TIMEOUT_SECONDS: '10' } });
  const { redis, kamailio } = stack;
  const staff = new Staff(redis);
  const line = await PatientLine.open(kamailio.sipPort);
  onStop(() => line.close());
  const pages = await PhonePageServer.start();
  onStop(() => pages.close());
  const browser = await launchBrowser();
  onStop(() => browser.close());
  const workstation = await staff.workstation('Bench browser');
  const phone = await BrowserPhone.register(
    browser.context,
    pages.url,
    await credentials(kamailio, workstation.id),
    TIMEOUT,
  );
  // browser-phone.ts opens an AudioContext per call and never closes it; Chromium stops delivering
  // audio to new ones after about 50 (call 49 heard nothing). Track them so each call's can be closed.
  await phone.page.evaluate(() => {
    const Original = window.AudioContext;
    const contexts: AudioContext[] = [];
    (window as unknown as { __contexts: AudioContext[] }).__contexts = contexts;
    window.AudioContext = class extends Original {
      constructor(options?: AudioContextOptions) {
        super(options);
        contexts.push(this);
      }
    };
  });
  await staff.available(USER, workstation.id);
  onStop(() => staff.leave(USER));

  const toFirstPacket: number[] = [];
  const toHeard: number[] = [];
  const toConfirmed: number[] = [];
  const payloadTypes = new Set<number>();
  /** Distinct SSRCs each call's patient saw (expect 2: hold music, then the browser). */
  const ssrcs: number[] = [];
  for (let i = 0; i < CALLS + WARMUP; i++) {
    await until('the agent to be available', async () => (await staff.agent(USER)).state === 'available', TIMEOUT);
    const media = await PatientPhone.open();
    const packets: Packet[] = [];
    let onPacket: (() => void) | undefined;
    (media as unknown as { socket: import('node:dgram').Socket }).socket.on('message', (packet: Buffer) => {
      if (packet.length < 12 || (packet[0] ?? 0) >> 6 !== 2) return;
      packets.push({ at: Date.now(), ssrc: packet.readUInt32BE(8), payloadType: (packet[1] ?? 0) & 0x7f });
      onPacket?.();
    });
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT });
    try {
      await phone.incoming(i, TIMEOUT);
      // Hold music first, so that the browser's media can be told from it by its SSRC.
      await until('hold music at the patient', async () => packets.length > 0, TIMEOUT);
      const holdSsrc = packets[0]?.ssrc;
      const firstFromBrowser = new Promise<Packet>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no packet from the browser after ${TIMEOUT} ms (${packets.length} packets, SSRCs ${[...new Set(packets.map((p) => p.ssrc))].join(', ')})`,
              ),
            ),
          TIMEOUT,
        );
        onPacket = () => {
          const last = packets[packets.length - 1];
          if (last && last.ssrc !== holdSsrc) {
            clearTimeout(timer);
            onPacket = undefined;
            resolve(last);
          }
        };
      });
      const answerAt = await answerStamped(phone.page);
      const first = await firstFromBrowser;
      if (first.at < answerAt)
        throw new Error(`a new SSRC ${first.at - answerAt} ms before the answer: not the browser's`);
      ssrcs.push(new Set(packets.map((p) => p.ssrc)).size);
      await phone.page
        .waitForFunction(() => (window as unknown as BenchWindow).__bench?.heardAt !== undefined, undefined, {
          timeout: TIMEOUT,
        })
        .catch(async (err: unknown) => {
          const peak = await phone.page.evaluate(() => (window as unknown as BenchWindow).__phone.peak);
          throw new Error(`call ${i}: the page never heard the patient (peak RMS ${peak}): ${String(err)}`);
        });
      const { heardAt, confirmedAt } = await phone.page.evaluate(() => {
        const w = window as unknown as BenchWindow;
        return { heardAt: w.__bench?.heardAt ?? NaN, confirmedAt: w.__phone.confirmedAt ?? NaN };
      });
      if (i >= WARMUP) {
        toFirstPacket.push(first.at - answerAt);
        toHeard.push(heardAt - answerAt);
        toConfirmed.push(confirmedAt - answerAt);
        payloadTypes.add(first.payloadType);
      }
      await dialog.hangUp(TIMEOUT);
      await phone.ended(TIMEOUT);
      // Let the ended track's silence reach the analyser before its context closes (no stale tone).
      await new Promise((resolve) => setTimeout(resolve, 200));
      await phone.page.evaluate(() =>
        Promise.all((window as unknown as { __contexts: AudioContext[] }).__contexts.splice(0).map((c) => c.close())),
      );
    } finally {
      await dialog.close();
      media.close();
      await phone.reset();
    }
  }
  console.log(
    `agent = headless Chromium (JsSIP page of tests/helpers/browser-phone.ts, DTLS-SRTP); ${CALLS} sequential calls after ${WARMUP} warm-up calls`,
  );
  console.log(`t0 = JsSIP session.answer() called in the page`);
  console.log(
    `(a) t0 → first RTP packet from the browser at the patient's UDP socket (payload type ${[...payloadTypes].join(',')}): ${percentiles(toFirstPacket)} (min ${Math.min(...toFirstPacket)})`,
  );
  console.log(
    `(b) t0 → first analyser reading > ${HEARD_RMS} RMS of the patient's tone in the page: ${percentiles(toHeard)} (min ${Math.min(...toHeard)})`,
  );
  console.log(
    `    SSRCs seen by each call's patient: ${[...new Set(ssrcs)].join(', ')} (hold music, then the browser's)`,
  );
  console.log(`    (t0 → JsSIP 'confirmed', the ACK for the browser's 200 OK: ${percentiles(toConfirmed)})`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
