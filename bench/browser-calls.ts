/**
 * The call path with real browsers as the agents: headless Chromium pages running the e2e tests'
 * JsSIP phone (tests/helpers/browser-phone.ts), registered with Kamailio with ephemeral credentials,
 * answering with DTLS-SRTP and Opus as the web app does. The patients are the tests' PatientLine (SIP
 * over UDP, as a trunk) and PatientPhone (plain RTP, PCMU, a 300 Hz tone). Starts its own stack
 * (bench/stack.ts) on 127.0.0.1 and stops it at the end, on an error and on Ctrl-C.
 *
 *   npx tsc -b && node bench/dist/browser-calls.js [--calls 50] [--bridged 20] [--capacity 100] [--window 10]
 *
 * 1. Post-dial delay: Date.now() just before the patient's INVITE leaves → Date.now() in the page when
 *    JsSIP reports the INVITE (`newRTCSession`), i.e. the moment the browser starts ringing. One page,
 *    one agent available, sequential calls; each is answered in the page, the patient hangs up, and
 *    the next starts once the agent is `available` again.
 * 2. Capacity with browsers: --bridged pages, each a workstation with an available agent; as many
 *    patients call and every page answers; then --capacity more patients call and wait on hold music
 *    while those talk. Over --window seconds: packets per second at every patient (on hold and
 *    bridged), the audio level each page hears (Web Audio analyser, RMS), and CPU% and memory of every
 *    process group, Chromium's included. At the end every patient hangs up: a BYE answered 200 means
 *    the call was still up ("no call lost").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CLINIC_NUMBER,
  credentials,
  CLOCK_TICKS,
  groupUsage,
  load,
  onStop,
  percentiles,
  startStack,
  stopAll,
  until,
} from './stack.js';

type BrowserHelpers = typeof import('../tests/helpers/browser.js');
type BrowserPhoneModule = typeof import('../tests/helpers/browser-phone.js');
type PatientLineModule = typeof import('../tests/helpers/patient-line.js');
type PatientPhoneModule = typeof import('../tests/helpers/patient-phone.js');
type StaffModule = typeof import('../tests/helpers/staff.js');
type PatientPhone = import('../tests/helpers/patient-phone.js').PatientPhone;
type PatientDialog = import('../tests/helpers/patient-line.js').PatientDialog;
type BrowserPhone = import('../tests/helpers/browser-phone.js').BrowserPhone;

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '50' },
    bridged: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '100' },
    window: { type: 'string', default: '10' },
  },
});
const CALLS = Math.max(0, Math.min(500, Number(values.calls)));
const BRIDGED = Math.max(0, Math.min(40, Number(values.bridged)));
const CAPACITY = Math.max(0, Math.min(400, Number(values.capacity)));
const WINDOW_S = Math.max(1, Math.min(60, Number(values.window)));
const WARMUP = 3;
const TIMEOUT = 15_000;
const PAGES_PER_BROWSER = 5;

const [{ launchBrowser }, { BrowserPhone, PhonePageServer }, { PatientLine }, { PatientPhone }, { Staff }] =
  await Promise.all([
    load<BrowserHelpers>('helpers/browser.js'),
    load<BrowserPhoneModule>('helpers/browser-phone.js'),
    load<PatientLineModule>('helpers/patient-line.js'),
    load<PatientPhoneModule>('helpers/patient-phone.js'),
    load<StaffModule>('helpers/staff.js'),
  ]);

/** The process groups of the Chromiums this process launched (playwright starts each in a group of its own). */
function chromiumGroups(): number[] {
  const groups: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (Number(fields[1]) === process.pid && cmdline.includes('chromium')) groups.push(Number(fields[2]));
    } catch {
      // gone meanwhile
    }
  }
  return groups;
}

/** Packets per second each phone received within [start, end). */
function pps(phones: readonly PatientPhone[], start: number, end: number): string {
  const rates = phones.map(
    (phone) => phone.received.filter((p) => p.at >= start && p.at < end).length / ((end - start) / 1000),
  );
  const mean = rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
  return `min ${Math.min(...rates).toFixed(1)}  mean ${mean.toFixed(1)}  max ${Math.max(...rates).toFixed(1)} (silent ${rates.filter((r) => r === 0).length})`;
}

try {
  // Each held call takes the patient leg's ports; each bridged call its browser leg's too.
  const stack = await startStack({
    rtpPorts: Math.max(200, CAPACITY * 4 + BRIDGED * 8 + 100),
    appEnv: { RING_TIMEOUT_SECONDS: '60' },
  });
  const { redis, kamailio } = stack;
  const staff = new Staff(redis);
  const line = await PatientLine.open(kamailio.sipPort);
  onStop(() => line.close());
  const pages = await PhonePageServer.start();
  onStop(() => pages.close());
  const browser = await launchBrowser();
  onStop(() => browser.close());

  // --- 1. post-dial delay, patient INVITE → the browser rings ---
  if (CALLS > 0) {
    const workstation = await staff.workstation('Bench browser');
    const phone = await BrowserPhone.register(
      browser.context,
      pages.url,
      await credentials(kamailio, workstation.id),
      TIMEOUT,
    );
    await staff.available('bench', workstation.id);
    const postDial: number[] = [];
    for (let i = 0; i < CALLS + WARMUP; i++) {
      await until('the agent to be available', async () => (await staff.agent('bench')).state === 'available', TIMEOUT);
      const media = await PatientPhone.open();
      const sentAt = Date.now();
      const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT });
      try {
        const ring = await phone.incoming(i, TIMEOUT);
        if (i >= WARMUP) postDial.push(ring.at - sentAt);
        await phone.answer(TIMEOUT);
        await dialog.hangUp(TIMEOUT);
        await phone.ended(TIMEOUT);
      } finally {
        await dialog.close();
        media.close();
        await phone.reset();
      }
    }
    console.log(
      `agent = headless Chromium (JsSIP, DTLS-SRTP, Opus); ${CALLS} sequential calls after ${WARMUP} warm-up calls`,
    );
    console.log(
      `1. post-dial delay, patient INVITE sent → JsSIP newRTCSession in the page (the browser rings): ${percentiles(postDial)}`,
    );
    await staff.leave('bench');
    await phone.page.close();
  }

  // --- 2. BRIDGED browser calls talking while CAPACITY more callers wait on hold music ---
  if (BRIDGED > 0 || CAPACITY > 0) {
    const phones: BrowserPhone[] = [];
    // One Chromium per PAGES_PER_BROWSER pages, as desks are separate computers: one Chromium with 20
    // pages in calls never confirmed them all (each renderer's WebRTC audio shares one audio service).
    const browsers = [browser];
    for (let i = 0; i < BRIDGED; i++) {
      if (i >= browsers.length * PAGES_PER_BROWSER) {
        const another = await launchBrowser();
        onStop(() => another.close());
        browsers.push(another);
      }
      const context = browsers[browsers.length - 1]!.context;
      const workstation = await staff.workstation(`Bench browser ${i}`);
      phones.push(
        await BrowserPhone.register(context, pages.url, await credentials(kamailio, workstation.id), TIMEOUT),
      );
      await staff.available(`browser-${i}`, workstation.id);
      onStop(() => staff.leave(`browser-${i}`));
    }
    const talking: PatientPhone[] = [];
    const holding: PatientPhone[] = [];
    const dialogs: PatientDialog[] = [];
    onStop(async () => {
      for (const dialog of dialogs) await dialog.close();
      for (const phone of [...talking, ...holding]) phone.close();
    });
    const started = performance.now();
    const answered = phones.map((phone) => phone.incoming(0, 60_000).then(() => phone.answer(60_000)));
    for (let i = 0; i < BRIDGED; i++) {
      const media = await PatientPhone.open();
      talking.push(media);
      dialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT }));
    }
    const codecs = await Promise.all(answered);
    console.log(
      `2. ${codecs.length}/${BRIDGED} calls rung and answered in Chromium pages (${[...new Set(codecs.map((c) => c.codec))].join(', ')}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    let refused = 0;
    const holdStart = performance.now();
    for (let i = 0; i < CAPACITY; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, CAPACITY - i) }, async () => {
          const media = await PatientPhone.open();
          holding.push(media);
          try {
            dialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT }));
          } catch (err) {
            refused += 1;
            console.error(String(err));
          }
        }),
      );
    }
    console.log(
      `   then ${CAPACITY - refused}/${CAPACITY} callers answered and queued on hold music in ${((performance.now() - holdStart) / 1000).toFixed(1)} s`,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const groups: Array<[string, number | undefined]> = [
      ...stack.processGroups,
      ...chromiumGroups().map((group, i): [string, number] => [`chromium ${i + 1}`, group]),
    ];
    const before = groups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    const start = Date.now();
    const levels = Promise.all(phones.map((phone) => phone.level(WINDOW_S * 1000)));
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
    const end = Date.now();
    const after = groups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    const heard = await levels;
    const wallS = (end - start) / 1000;
    console.log(
      `   over ${wallS.toFixed(1)} s, packets/s at the ${holding.length} callers on hold: ${pps(holding, start, end)}`,
    );
    console.log(`   at the ${talking.length} bridged patients (from the browsers): ${pps(talking, start, end)}`);
    const means = heard.map((h) => h.mean);
    console.log(
      `   audio the pages hear (analyser RMS, 0…1): mean of means ${(means.reduce((a, b) => a + b, 0) / Math.max(1, means.length)).toFixed(3)}, quietest page's mean ${Math.min(...means).toFixed(3)}`,
    );
    groups.forEach(([name], i) => {
      const a = after[i];
      const b = before[i];
      if (!a || !b) return console.log(`   ${name}: not found`);
      const cpu = ((a.ticks - b.ticks) / CLOCK_TICKS / wallS) * 100;
      console.log(
        `   ${name.padEnd(12)} CPU ${cpu.toFixed(1).padStart(5)} % of one core  RSS ${(a.rssKb / 1024).toFixed(1)} MiB  PSS ${(a.pssKb / 1024).toFixed(1)} MiB (${a.processes} processes)`,
      );
    });
    const byes = { ok: 0, other: [] as string[] };
    for (const dialog of dialogs.splice(0)) {
      const status = await dialog.hangUp(TIMEOUT).then(
        (answer) => String(answer.status),
        (err: unknown) => String(err),
      );
      if (status === '200') byes.ok += 1;
      else byes.other.push(status);
      await dialog.close();
    }
    console.log(
      `   calls still up at the end (patient's BYE answered 200): ${byes.ok}/${BRIDGED + CAPACITY - refused}${byes.other.length ? `; others: ${byes.other.join(', ')}` : ''}`,
    );
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
