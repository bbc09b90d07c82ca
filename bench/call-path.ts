/**
 * The call path's signalling latency, and (with --capacity) how many callers it holds on hold music.
 * Starts its own stack (bench/stack.ts) on free ports on 127.0.0.1: redis-server, rtpengine, Kamailio and the sip app
 * (SKIP_INTRO=true, RING_TIMEOUT_SECONDS=2, the real pbx-config/media), the way the integration
 * tests do, and stops all of it at the end, also on an error.
 *
 *   npx tsc -b && node bench/dist/call-path.js [--calls 50] [--capacity 100] [--bridged 20] [--window 10] [--together] [--spans]
 *
 * 1. Post-dial delay: the patient's INVITE leaves (Node UDP SIP endpoint, the tests' PatientLine)
 *    → the INVITE arrives at the agent's WebSocket (the tests' AgentPhone: a Node SIP-over-WebSocket
 *    endpoint registered as a browser with ephemeral credentials, not Chromium). Each call is then
 *    answered (plain RTP answer, as in the routing tests), the patient hangs up, and the next call
 *    starts once the agent is `available` again. With --spans the sip app runs at LOG_LEVEL=debug
 *    and its 'post-dial timings' lines (sip/src/calls/post-dial-timings.ts) give where the time goes
 *    inside it, step by step.
 * 2. Floor: the same INVITE (the WebRTC SDP the sip app sent in 1) sent straight to a second Kamailio
 *    by a TCP endpoint from the sip app's port (tests' WorkstationRinger), → arrival at an agent's
 *    WebSocket on that Kamailio; the agent declines 486 and the ringer ACKs.
 * 3. --capacity N (0 to skip): N patients call with no agent available, each answered and held on
 *    hold music; then, over a window, packets per second on a sample of them and CPU% and RSS of
 *    each process (its whole process group, from /proc).
 * 4. --bridged N (0 to skip): N agents registered and available, N patients call, each agent answers
 *    (plain RTP, a 600 Hz tone); over a window, packets per second at both ends, CPU% and memory.
 * 5. --together (instead of 3 and 4): the --bridged calls answered first, then --capacity more callers
 *    wait on hold music while they talk; over the window, pps at every end, CPU% and memory; at the end
 *    every patient's BYE must be answered 200 (no call lost).
 *
 * The bench imports the compiled test helpers (tests/dist) at run time; their types come from the
 * tests project (a project reference), so `npx tsc -b` must have built tests too.
 */
import type { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import {
  CLINIC_NUMBER,
  CLOCK_TICKS,
  groupUsage,
  load,
  onStop,
  percentiles,
  startStack,
  stopAll,
  until,
} from './stack.js';

type RingerHelpers = typeof import('../tests/helpers/workstation-ringer.js');
type AgentPhoneModule = typeof import('../tests/helpers/agent-phone.js');
type PatientLineModule = typeof import('../tests/helpers/patient-line.js');
type PatientPhoneModule = typeof import('../tests/helpers/patient-phone.js');
type StaffModule = typeof import('../tests/helpers/staff.js');
type PatientPhone = import('../tests/helpers/patient-phone.js').PatientPhone;
type PatientDialog = import('../tests/helpers/patient-line.js').PatientDialog;

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '50' },
    capacity: { type: 'string', default: '100' },
    window: { type: 'string', default: '10' },
    bridged: { type: 'string', default: '20' },
    together: { type: 'boolean', default: false },
    spans: { type: 'boolean', default: false },
  },
});
const CALLS = Math.max(1, Math.min(1000, Number(values.calls)));
const CAPACITY = Math.max(0, Math.min(400, Number(values.capacity)));
const WINDOW_S = Math.max(1, Math.min(60, Number(values.window)));
const BRIDGED = Math.max(0, Math.min(50, Number(values.bridged)));
const WARMUP = 3;
/** 3 and 4 at once: the callers on hold music and the bridged calls over the same window. */
const TOGETHER = values.together === true;
const RING_TIMEOUT_SECONDS = 2;
/** The sip app at debug level, for its post-dial timings (its other debug lines cost a little too). */
const SPANS = values.spans === true;
/** The steps of PostDialTimings, in their order. */
const POST_DIAL_STEPS = [
  'admitted',
  'media-answered',
  'ok-sent',
  'ack',
  'queued',
  'routing',
  'claimed',
  'agent-offer',
  'invite-sent',
] as const;

const [
  { WorkstationRinger },
  { AgentPhone, AGENT_TONE_HZ },
  { PatientLine },
  { PatientPhone, PATIENT_TONE_HZ, isTone },
  { Staff },
] = await Promise.all([
  load<RingerHelpers>('helpers/workstation-ringer.js'),
  load<AgentPhoneModule>('helpers/agent-phone.js'),
  load<PatientLineModule>('helpers/patient-line.js'),
  load<PatientPhoneModule>('helpers/patient-phone.js'),
  load<StaffModule>('helpers/staff.js'),
]);

interface Usage {
  start: number;
  end: number;
  wallS: number;
  print(): void;
}

let processGroups: Array<[string, number | undefined]> = [];

/** CPU% and RSS/PSS of every process group, and of the bench itself, over a window of WINDOW_S. */
async function measureWindow(): Promise<Usage> {
  const before = processGroups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
  const benchBefore = process.cpuUsage();
  const start = Date.now();
  const wallStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
  const wallS = (performance.now() - wallStart) / 1000;
  const end = Date.now();
  const after = processGroups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
  const benchCpu = process.cpuUsage(benchBefore);
  return {
    start,
    end,
    wallS,
    print() {
      processGroups.forEach(([name], i) => {
        const b = before[i];
        const a = after[i];
        if (!a || !b) return console.log(`   ${name}: not found`);
        const cpu = ((a.ticks - b.ticks) / CLOCK_TICKS / wallS) * 100;
        console.log(
          `   ${name.padEnd(12)} CPU ${cpu.toFixed(1).padStart(5)} % of one core  RSS ${(a.rssKb / 1024).toFixed(1)} MiB  PSS ${(a.pssKb / 1024).toFixed(1)} MiB (${a.processes} processes; RSS before the window ${(b.rssKb / 1024).toFixed(1)})`,
        );
      });
      console.log(
        `   ${'bench (node)'.padEnd(12)} CPU ${(((benchCpu.user + benchCpu.system) / 1e6 / wallS) * 100).toFixed(1).padStart(5)} % of one core  RSS ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB (the callers' phones; each sends 50 pps)`,
      );
    },
  };
}

/** Packets per second each phone received within the window. */
function pps(
  phones: readonly PatientPhone[],
  window: Usage,
): { min: number; mean: number; max: number; silent: number } {
  const rates = phones.map(
    (phone) =>
      phone.received.filter((p) => p.at >= window.start && p.at < window.end).length /
      ((window.end - window.start) / 1000),
  );
  return {
    min: Math.min(...rates),
    mean: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
    max: Math.max(...rates),
    silent: rates.filter((rate) => rate === 0).length,
  };
}

/** Per step of the sip app's post-dial timings: ms since the step before it (the first: since the INVITE arrived). */
function printSpans(lines: ReadonlyArray<Record<string, unknown>>): void {
  console.log(`   inside the sip app (${lines.length} calls' 'post-dial timings'), ms since the step before:`);
  let previous = 'INVITE in';
  for (const step of POST_DIAL_STEPS) {
    const spans = lines.flatMap((line) => {
      const marks = line['postDialMs'] as Partial<Record<string, number>>;
      const at = marks[step];
      const before = previous === 'INVITE in' ? 0 : marks[previous];
      return at === undefined || before === undefined ? [] : [at - before];
    });
    console.log(`   ${`${previous} → ${step}`.padEnd(32)} ${percentiles(spans)}`);
    previous = step;
  }
  const total = lines.flatMap((line) => (line['postDialMs'] as Partial<Record<string, number>>)['invite-sent'] ?? []);
  console.log(`   ${'INVITE in → invite-sent'.padEnd(32)} ${percentiles(total)}`);
}

try {
  // Each held call takes the patient leg's RTP and RTCP ports (more while bridged).
  const stack = await startStack({
    rtpPorts: Math.max(200, CAPACITY * 4 + BRIDGED * 8 + 100),
    appEnv: { RING_TIMEOUT_SECONDS: String(RING_TIMEOUT_SECONDS), ...(SPANS ? { LOG_LEVEL: 'debug' } : {}) },
  });
  const { redis, kamailio, startTestKamailio, redisServer, app } = stack;
  processGroups = stack.processGroups;

  const staff = new Staff(redis);
  const line = await PatientLine.open(kamailio.sipPort);
  onStop(() => line.close());

  // --- 1. post-dial delay through the sip app ---
  const workstation = await staff.workstation('Bench 1');
  const agent = await AgentPhone.register(kamailio, workstation.id);
  // Each answered ring's media is closed after its call; AgentPhone.close() would close it again.
  onStop(() => agent.endpoint.close());
  await staff.available('bench', workstation.id);
  onStop(() => staff.leave('bench'));

  const postDial: number[] = [];
  /** The same calls: INVITE sent → the sip app's 200 OK back at the patient (queued, hold music starts). */
  const patientOk: number[] = [];
  let webrtcOffer = '';
  let inviteHeaders: [string, string][] = [];
  for (let i = 0; i < CALLS + WARMUP; i++) {
    await until('the agent to be available', async () => (await staff.agent('bench')).state === 'available');
    const media = await PatientPhone.open();
    try {
      const sentAt = performance.now();
      const ringing = agent.nextInvite(5000).then((ring) => ({ ring, at: performance.now() }));
      const answered = line
        .call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: 5000 })
        .then((dialog) => ({ dialog, at: performance.now() }));
      const [{ ring, at }, { dialog, at: okAt }] = await Promise.all([ringing, answered]);
      if (i >= WARMUP) {
        postDial.push(at - sentAt);
        patientOk.push(okAt - sentAt);
      }
      webrtcOffer = ring.invite.body;
      const callHeader = ring.invite.raw.match(/^X-Deskline-Call-Id:.*$/im)?.[0];
      inviteHeaders = callHeader ? [['X-Deskline-Call-Id', callHeader.split(':')[1]?.trim() ?? '']] : [];
      await ring.answer(5000);
      await dialog.hangUp(5000);
      await ring.waitForBye(5000);
      ring.close();
    } finally {
      media.close();
    }
  }
  console.log(
    `agent = Node SIP-over-WebSocket endpoint (not Chromium); ${CALLS} sequential calls after ${WARMUP} warm-up calls`,
  );
  console.log(`1. post-dial delay, patient INVITE sent → INVITE at the agent's WebSocket: ${percentiles(postDial)}`);
  console.log(`   (same calls, patient INVITE sent → 200 OK back at the patient: ${percentiles(patientOk)})`);
  if (SPANS) printSpans(app.logs.filter((line) => line.msg === 'post-dial timings').slice(-CALLS));

  // --- 2. floor: straight through a Kamailio of the same config, no sip app ---
  const floorKamailio = await startTestKamailio({ redisUrl: redisServer.url });
  onStop(() => floorKamailio.stop());
  const floorWorkstation = await staff.workstation('Bench floor');
  const floorAgent = await AgentPhone.register(floorKamailio, floorWorkstation.id);
  onStop(() => floorAgent.close());
  const ringer = await WorkstationRinger.connect(floorKamailio);
  onStop(() => ringer.close());
  // The sip app's connection has TCP_NODELAY (sip/src/sip/kamailio-connection.ts); the test helper's
  // has not, and Nagle's algorithm against the peer's delayed ACK would add about 40 ms per INVITE.
  (ringer.endpoint as unknown as { socket: Socket }).socket.setNoDelay(true);
  const floor: number[] = [];
  for (let i = 0; i < CALLS + WARMUP; i++) {
    const ring = ringer.prepare({
      user: floorAgent.sipUser,
      from: '+4915112345678',
      fromName: '+4915112345678',
      headers: inviteHeaders,
    });
    const sentAt = performance.now();
    ring.invite(webrtcOffer);
    const incoming = await floorAgent.nextInvite(5000);
    if (i >= WARMUP) floor.push(performance.now() - sentAt);
    incoming.decline(486, 'Busy Here');
    ring.ack(await ring.response(undefined, 5000));
  }
  console.log(
    `2. floor, INVITE from the sip app's port → INVITE at the agent's WebSocket (Kamailio only): ${percentiles(floor)}`,
  );

  // --- 3. capacity: callers on hold music, no agent available ---
  await staff.leave('bench');
  await ringer.close();
  await floorKamailio.stop();
  if (CAPACITY > 0 && !TOGETHER) {
    const phones: PatientPhone[] = [];
    const dialogs: PatientDialog[] = [];
    onStop(async () => {
      for (const dialog of dialogs) await dialog.close();
      for (const phone of phones) phone.close();
    });
    const setup: number[] = [];
    let refused = 0;
    const started = performance.now();
    // 10 at a time, as a burst of callers would come.
    for (let i = 0; i < CAPACITY; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, CAPACITY - i) }, async () => {
          const phone = await PatientPhone.open();
          phones.push(phone);
          const t0 = performance.now();
          try {
            dialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, timeoutMs: 10_000 }));
            setup.push(performance.now() - t0);
          } catch (err) {
            refused += 1;
            console.error(String(err));
          }
        }),
      );
    }
    console.log(
      `3. ${dialogs.length}/${CAPACITY} callers answered 200 (${refused} failed) in ${((performance.now() - started) / 1000).toFixed(1)} s; INVITE → 200: ${percentiles(setup)}`,
    );
    // Let every call's hold music start before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const usage = await measureWindow();
    const rates = pps(phones, usage);
    console.log(
      `   hold music over ${usage.wallS.toFixed(1)} s, packets/s at every caller: min ${rates.min.toFixed(1)}  mean ${rates.mean.toFixed(1)}  max ${rates.max.toFixed(1)}; callers with no packet in the window: ${rates.silent}/${phones.length}`,
    );
    usage.print();

    const hangStart = performance.now();
    for (const dialog of dialogs.splice(0)) await dialog.hangUp(5000).catch(() => undefined);
    // Their senders would go on sending to rtpengine ports that the next calls get.
    for (const phone of phones.splice(0)) phone.close();
    console.log(`   hung up all in ${((performance.now() - hangStart) / 1000).toFixed(1)} s`);
  }

  // --- 4. bridged calls: BRIDGED agents each talking to a patient at once ---
  if (BRIDGED > 0 && !TOGETHER) {
    await staff.leave('bench').catch(() => undefined);
    const agents = [];
    for (let i = 0; i < BRIDGED; i++) {
      const ws = await staff.workstation(`Bench bridged ${i}`);
      const phone = await AgentPhone.register(kamailio, ws.id);
      onStop(() => phone.close());
      await staff.available(`bridged-${i}`, ws.id);
      onStop(() => staff.leave(`bridged-${i}`));
      agents.push(phone);
    }
    const patients: PatientPhone[] = [];
    const dialogs: PatientDialog[] = [];
    onStop(async () => {
      for (const dialog of dialogs) await dialog.close();
      for (const phone of patients) phone.close();
    });
    const started = performance.now();
    const rings = agents.map((phone) =>
      phone.nextInvite(15_000).then((ring) => ring.answer(5000).then((media) => ({ ring, media }))),
    );
    for (let i = 0; i < BRIDGED; i++) {
      const phone = await PatientPhone.open();
      patients.push(phone);
      dialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, timeoutMs: 10_000 }));
    }
    const answered = await Promise.all(rings);
    console.log(
      `4. ${answered.length}/${BRIDGED} calls rung and answered (agent = Node WS endpoint answering plain RTP/PCMU, not a browser's DTLS-SRTP/Opus) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    // Let the hold music stop and the agents' audio start.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const usage = await measureWindow();
    const atPatients = pps(patients, usage);
    const atAgents = pps(
      answered.map(({ media }) => media),
      usage,
    );
    console.log(
      `   over ${usage.wallS.toFixed(1)} s, packets/s at the patients: min ${atPatients.min.toFixed(1)}  mean ${atPatients.mean.toFixed(1)}  max ${atPatients.max.toFixed(1)}; at the agents: min ${atAgents.min.toFixed(1)}  mean ${atAgents.mean.toFixed(1)}  max ${atAgents.max.toFixed(1)}; silent: ${atPatients.silent} patients, ${atAgents.silent} agents`,
    );
    const toneShare = (phones: readonly PatientPhone[], hz: number): string => {
      const packets = phones.flatMap((phone) => phone.received.filter((p) => p.at >= usage.start && p.at < usage.end));
      return `${((100 * packets.filter((p) => isTone(p, hz)).length) / Math.max(1, packets.length)).toFixed(1)} %`;
    };
    console.log(
      `   packets carrying the other side's tone: at the patients ${toneShare(patients, AGENT_TONE_HZ)} (${AGENT_TONE_HZ} Hz), at the agents ${toneShare(
        answered.map(({ media }) => media),
        PATIENT_TONE_HZ,
      )} (${PATIENT_TONE_HZ} Hz)`,
    );
    usage.print();
    for (const dialog of dialogs.splice(0)) await dialog.hangUp(5000).catch(() => undefined);
    await Promise.all(answered.map(({ ring }) => ring.waitForBye(5000).catch(() => undefined)));
  }

  // --- 3+4 together: BRIDGED calls talking while CAPACITY more callers wait on hold music ---
  if (TOGETHER) {
    const agents = [];
    for (let i = 0; i < BRIDGED; i++) {
      const ws = await staff.workstation(`Bench together ${i}`);
      const phone = await AgentPhone.register(kamailio, ws.id);
      onStop(() => phone.close());
      await staff.available(`together-${i}`, ws.id);
      onStop(() => staff.leave(`together-${i}`));
      agents.push(phone);
    }
    const talking: PatientPhone[] = [];
    const holding: PatientPhone[] = [];
    const talkingDialogs: PatientDialog[] = [];
    const holdingDialogs: PatientDialog[] = [];
    onStop(async () => {
      for (const dialog of [...talkingDialogs, ...holdingDialogs]) await dialog.close();
      for (const phone of [...talking, ...holding]) phone.close();
    });
    const started = performance.now();
    const rings = agents.map((phone) =>
      phone.nextInvite(15_000).then((ring) => ring.answer(5000).then((media) => ({ ring, media }))),
    );
    for (let i = 0; i < BRIDGED; i++) {
      const phone = await PatientPhone.open();
      talking.push(phone);
      talkingDialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, timeoutMs: 10_000 }));
    }
    const answered = await Promise.all(rings);
    console.log(
      `5. together: ${answered.length}/${BRIDGED} calls rung and answered by Node WS agents (plain RTP/PCMU) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    // Every agent is on a call now: the next callers wait on hold music.
    let refused = 0;
    const setup: number[] = [];
    const holdStart = performance.now();
    for (let i = 0; i < CAPACITY; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, CAPACITY - i) }, async () => {
          const phone = await PatientPhone.open();
          holding.push(phone);
          const t0 = performance.now();
          try {
            holdingDialogs.push(await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, timeoutMs: 10_000 }));
            setup.push(performance.now() - t0);
          } catch (err) {
            refused += 1;
            console.error(String(err));
          }
        }),
      );
    }
    console.log(
      `   then ${holdingDialogs.length}/${CAPACITY} callers answered 200 and queued (${refused} failed) in ${((performance.now() - holdStart) / 1000).toFixed(1)} s; INVITE → 200: ${percentiles(setup)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const usage = await measureWindow();
    const fmt = (r: ReturnType<typeof pps>): string =>
      `min ${r.min.toFixed(1)}  mean ${r.mean.toFixed(1)}  max ${r.max.toFixed(1)} (silent ${r.silent})`;
    const agentMedia = answered.map(({ media }) => media);
    console.log(
      `   over ${usage.wallS.toFixed(1)} s, packets/s at the ${holding.length} callers on hold: ${fmt(pps(holding, usage))}`,
    );
    console.log(
      `   at the ${talking.length} bridged patients: ${fmt(pps(talking, usage))}; at their ${agentMedia.length} agents: ${fmt(pps(agentMedia, usage))}`,
    );
    const toneShare = (phones: readonly PatientPhone[], hz: number): string => {
      const packets = phones.flatMap((phone) => phone.received.filter((p) => p.at >= usage.start && p.at < usage.end));
      return `${((100 * packets.filter((p) => isTone(p, hz)).length) / Math.max(1, packets.length)).toFixed(1)} %`;
    };
    console.log(
      `   packets carrying the other side's tone: at the bridged patients ${toneShare(talking, AGENT_TONE_HZ)}, at the agents ${toneShare(agentMedia, PATIENT_TONE_HZ)}`,
    );
    usage.print();
    // A call the sip app has lost would answer the patient's BYE 481 (or not at all).
    const byes = { ok: 0, other: [] as string[] };
    for (const dialog of [...talkingDialogs.splice(0), ...holdingDialogs.splice(0)]) {
      const status = await dialog.hangUp(5000).then(
        (answer) => String(answer.status),
        (err: unknown) => String(err),
      );
      if (status === '200') byes.ok += 1;
      else byes.other.push(status);
    }
    console.log(
      `   calls still up at the end (patient's BYE answered 200): ${byes.ok}/${BRIDGED + CAPACITY}${byes.other.length ? `; others: ${byes.other.join(', ')}` : ''}`,
    );
    await Promise.all(answered.map(({ ring }) => ring.waitForBye(5000).catch(() => undefined)));
    for (const phone of [...talking.splice(0), ...holding.splice(0)]) phone.close();
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
