/**
 * Capacity of one server: how many callers on hold music and browser-bridged calls it carries before
 * the hold music at any caller drops below 48 packets a second (issue 12). Starts its own stack
 * (bench/stack.ts: Redis, rtpengine, Kamailio, the sip app) on 127.0.0.1, and stops it at the end, on
 * an error and on Ctrl-C.
 *
 *   npm run build && npm run bench:capacity -- [--hold 10,25,50,100,150,200,300,400,500,600] [--bridged 2,5,10,20,30,40,60,80,100,120]
 *                                             [--window 10] [--settle 3] [--pin auto|off|<cpu>] [--json <file>]
 *
 * Stages add load and never hang up: stage k has hold[k] callers on hold and bridged[k] bridged calls
 * at once (the shorter list repeats its last value). For each stage:
 *
 * 1. New agents register through Kamailio's WebSocket as browser workstations and become available.
 *    Each is a WebRtcAgent (tests/helpers/webrtc-agent.ts): its media goes through an rtpengine of
 *    the agent side's own that answers the server's WebRTC offer with ICE and DTLS-SRTP as Chromium
 *    does, so the server does a browser's work for it, at a fraction of a Chromium page's CPU.
 * 2. New patients call (the tests' PatientLine, SIP/UDP, each from a number of its own, in bursts of
 *    10); every patient's phone (PatientPhone) sends PCMU at 50 pps once media reaches it. New agents
 *    get the longest-waiting callers; the rest wait on hold music. Which patient is bridged is read
 *    from the number in the agent's INVITE.
 * 3. After --settle seconds, over --window seconds: packets per second at every caller on hold; at
 *    both ends of every bridged call what arrived over what the other end sent (× 50, so that a Node
 *    timer of the bench sending late is not counted against the server), the senders' own rate, and
 *    whether the tone of the other side is what arrives; CPU of
 *    every server process group from /proc (utime+stime), of the agents' rtpengine and of the bench
 *    itself, the bench's event-loop delay, and the load average before and after.
 * 4. Stop when a call failed, any end got fewer than 48 pps, or the bench itself cannot keep up (its
 *    event loop p99 over 100 ms or its senders 10 % short: tests/helpers/capacity-rules.ts).
 *
 * The load generators (this process, with every patient's and agent's media socket, and the agents'
 * rtpengine) are pinned with taskset to the last CPU (--pin auto), so the server's processes, started
 * before the pinning, may use every CPU while the agents' own work is kept off the others. At the end
 * every patient hangs up; a BYE answered 200 means the call was still up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CLINIC_NUMBER, CLOCK_TICKS, groupUsage, load, onStop, root, startStack, stopAll } from './stack.js';

type RulesModule = typeof import('../tests/helpers/capacity-rules.js');
type WebRtcAgentModule = typeof import('../tests/helpers/webrtc-agent.js');
type RtpengineHelpers = typeof import('../tests/helpers/rtpengine.js');
type PatientLineModule = typeof import('../tests/helpers/patient-line.js');
type PatientPhoneModule = typeof import('../tests/helpers/patient-phone.js');
type StaffModule = typeof import('../tests/helpers/staff.js');
type AgentPhoneModule = typeof import('../tests/helpers/agent-phone.js');
type PatientPhone = import('../tests/helpers/patient-phone.js').PatientPhone;
type PatientDialog = import('../tests/helpers/patient-line.js').PatientDialog;
type WebRtcAgent = import('../tests/helpers/webrtc-agent.js').WebRtcAgent;
type WebRtcCall = import('../tests/helpers/webrtc-agent.js').WebRtcCall;
type RateSummary = import('../tests/helpers/capacity-rules.js').RateSummary;

const { values } = parseArgs({
  options: {
    hold: { type: 'string', default: '10,25,50,100,150,200,300,400,500,600' },
    bridged: { type: 'string', default: '2,5,10,20,30,40,60,80,100,120' },
    window: { type: 'string', default: '10' },
    settle: { type: 'string', default: '3' },
    pin: { type: 'string', default: 'auto' },
    json: { type: 'string' },
  },
});
const WINDOW_S = Math.max(2, Math.min(120, Number(values.window)));
const SETTLE_S = Math.max(1, Math.min(60, Number(values.settle)));
const CALL_TIMEOUT = 15_000;
/** Kamailio's default WS_MAX_CONNECTIONS_PER_ADDRESS (docs/call-path.md). */
const WS_CONNECTIONS_PER_ADDRESS = 150;
const BURST = 10;

if (!existsSync(path.join(root, 'tests/dist/helpers/capacity-rules.js'))) {
  console.error('bench:capacity needs the compiled test helpers: run `npm run build` first.');
  process.exit(2);
}
const [
  { stagePlan, stopReason, summarize, rateOver, deliveredPps, MIN_PPS },
  { WebRtcAgent },
  { startTestRtpengine },
  { PatientLine },
  { PatientPhone, PATIENT_TONE_HZ, isTone },
  { Staff },
  { AGENT_TONE_HZ },
] = await Promise.all([
  load<RulesModule>('helpers/capacity-rules.js'),
  load<WebRtcAgentModule>('helpers/webrtc-agent.js'),
  load<RtpengineHelpers>('helpers/rtpengine.js'),
  load<PatientLineModule>('helpers/patient-line.js'),
  load<PatientPhoneModule>('helpers/patient-phone.js'),
  load<StaffModule>('helpers/staff.js'),
  load<AgentPhoneModule>('helpers/agent-phone.js'),
]);

const plan = stagePlan(values.hold, values.bridged);
/** Before any pinning: os.availableParallelism() follows this process's CPU affinity, os.cpus() does not. */
const CPUS = os.cpus().length;
const last = plan[plan.length - 1] ?? { hold: 0, bridged: 0 };

/** The CPU the load generators are pinned to, or undefined for no pinning. */
function loadCpu(): number | undefined {
  const cpus = CPUS;
  if (values.pin === 'off') return undefined;
  if (values.pin === 'auto') return cpus >= 2 ? cpus - 1 : undefined;
  const cpu = Number(values.pin);
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus)
    throw new Error(`--pin must be auto, off or a CPU number below ${cpus}`);
  return cpu;
}

/** Pins every thread of `pid` to `cpu` (taskset, util-linux). */
function pin(pid: number, cpu: number): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(
      `could not pin process ${pid} to CPU ${cpu} with taskset (apt-get install util-linux, or --pin off): ${String(err)}`,
    );
  }
}

/** Open sockets of a process: for rtpengine, one per media port it holds (and its control socket). */
function sockets(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) count += 1;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

/**
 * UDP ports of [min, max] on 127.0.0.1 that a process other than `own` holds too (ss, iproute2).
 * rtpengine binds with address reuse, so another rtpengine (another test run's) can bind our media
 * ports, and the kernel then gives their packets to one of the two: a call goes silent one way.
 */
function sharedPorts(min: number, max: number, own: ReadonlySet<number>): string[] {
  let out: string;
  try {
    out = execFileSync('ss', ['-uanpH'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return [];
  }
  const holders = new Map<number, Set<number>>();
  for (const line of out.split('\n')) {
    const port = Number(/127\.0\.0\.1:(\d+)\s/.exec(line)?.[1]);
    if (!(port >= min && port <= max)) continue;
    const pids = holders.get(port) ?? new Set<number>();
    for (const m of line.matchAll(/pid=(\d+)/g)) pids.add(Number(m[1]));
    holders.set(port, pids);
  }
  return [...holders]
    .filter(([, pids]) => pids.size > 1 && [...pids].some((pid) => !own.has(pid)))
    .map(([port, pids]) => `${port} (pids ${[...pids].join(', ')})`);
}

const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Patient {
  number: string;
  phone: PatientPhone;
  dialog?: PatientDialog;
  /** The agent's end, once an agent answered this patient. */
  agentCall?: WebRtcCall;
}

interface StageRow {
  stage: number;
  hold: number;
  bridged: number;
  setupS: number;
  holding: RateSummary;
  /** Bridged calls, each end as deliveredPps (what arrived over what the other end sent, × 50). */
  atPatients: RateSummary;
  atAgents: RateSummary;
  /** Packets per second arriving at the bridged patients, whatever their agents sent. */
  receivedAtPatients: RateSummary;
  /** Packets per second every patient's and agent's phone (the bench's Node timers) sent. */
  sendersPps: RateSummary;
  /** Share of packets in the window carrying the other side's tone: at bridged patients, at agents. */
  toneAtPatients: number;
  toneAtAgents: number;
  failedCalls: number;
  /** CPU % of one core over the window, per process group. */
  cpu: Record<string, number>;
  rssMiB: Record<string, number>;
  benchLoopP99Ms: number;
  /** The server rtpengine's open sockets at the end of the window: about its media ports in use. */
  rtpengineSockets: number;
  /** Media ports of the bench's two rtpengines that another process held too at the end of the window. */
  sharedPorts: string[];
  loadBefore: string;
  loadAfter: string;
  stop?: string;
}

/** Fails with the Debian package to install when `command` is not on PATH. */
function need(command: string, versionFlag: string, debianPackage: string, or = ''): void {
  try {
    execFileSync(command, [versionFlag], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
    console.error(`bench:capacity needs ${command}: apt-get install ${debianPackage}${or}`);
    process.exit(2);
  }
}
need('uptime', '--version', 'procps');
if (loadCpu() !== undefined) need('taskset', '-V', 'util-linux', ', or run with --pin off');

const rows: StageRow[] = [];
const startedAt = new Date();
const uptimeStart = execFileSync('uptime', { encoding: 'utf8' }).trim();

try {
  const cpu = loadCpu();
  // The server's ports: each held call takes the patient leg's and the queue's; a bridged one the browser leg's too.
  // Every agent connects from 127.0.0.1, where desks would come from addresses of their own (or a
  // clinic's one NAT address: see bench/README.md): Kamailio's per-address limit is raised to fit them.
  const stack = await startStack({
    rtpPorts: Math.max(200, last.hold * 4 + last.bridged * 8 + 100),
    appEnv: { RING_TIMEOUT_SECONDS: '60' },
    wsMaxConnectionsPerAddress: Math.max(WS_CONNECTIONS_PER_ADDRESS, last.bridged + 10),
  });
  const { redis, kamailio } = stack;
  const peer = await startTestRtpengine({ ports: Math.max(100, last.bridged * 8 + 50) });
  onStop(() => peer.stop());
  // After the server started (its processes keep every CPU): the load generators on one CPU.
  if (cpu !== undefined) {
    pin(process.pid, cpu);
    if (peer.process.pid !== undefined) pin(peer.process.pid, cpu);
  }
  const staff = new Staff(redis);
  const line = await PatientLine.open(kamailio.sipPort);
  onStop(() => line.close());

  const patients: Patient[] = [];
  const agents: WebRtcAgent[] = [];
  onStop(async () => {
    for (const patient of patients) patient.phone.close();
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
  });
  const groups: Array<[string, number | undefined]> = [...stack.processGroups, ["agents' rtpengine", peer.process.pid]];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  console.log(
    `capacity: ${plan.length} stages, window ${WINDOW_S} s after ${SETTLE_S} s; load generators ${cpu === undefined ? 'not pinned' : `pinned to CPU ${cpu}`}; ${CPUS} CPUs; ${uptimeStart}`,
  );
  for (const [index, stage] of plan.entries()) {
    const loadBefore = loadAverage();
    const setupStart = performance.now();
    let failedCalls = 0;
    // 1. New agents, each waiting for its call before it becomes available.
    const answering: Array<Promise<WebRtcCall | undefined>> = [];
    while (agents.length < stage.bridged) {
      const i = agents.length;
      const workstation = await staff.workstation(`Capacity ${i}`);
      let agent: WebRtcAgent;
      try {
        agent = await WebRtcAgent.register(kamailio, workstation.id, peer);
      } catch (err) {
        console.error(`agent ${i} could not connect and register: ${String(err)}`);
        failedCalls += stage.bridged - agents.length;
        break;
      }
      agents.push(agent);
      answering.push(
        agent.answerNext(CALL_TIMEOUT * 4).catch((err: unknown) => {
          console.error(`agent ${i}: ${String(err)}`);
          return undefined;
        }),
      );
      await staff.available(`capacity-${i}`, workstation.id);
    }
    // 2. New patients, in bursts.
    const wanted = stage.hold + stage.bridged;
    while (patients.length < wanted) {
      const burst = Math.min(BURST, wanted - patients.length);
      const first = patients.length;
      await Promise.all(
        Array.from({ length: burst }, async (_, i) => {
          const patient: Patient = {
            number: `+49151${String(first + i).padStart(7, '0')}`,
            phone: await PatientPhone.open(),
          };
          patients.push(patient);
          try {
            patient.dialog = await line.call({
              line: CLINIC_NUMBER,
              rtpPort: patient.phone.port,
              from: patient.number,
              timeoutMs: CALL_TIMEOUT,
            });
          } catch (err) {
            failedCalls += 1;
            console.error(`${patient.number}: ${String(err)}`);
          }
        }),
      );
    }
    for (const call of await Promise.all(answering)) {
      if (!call) {
        failedCalls += 1;
        continue;
      }
      const caller = /<?sips?:([^@;>]+)@/.exec(call.ring.from)?.[1];
      const patient = patients.find((p) => p.number === caller);
      if (patient) patient.agentCall = call;
      else failedCalls += 1;
    }
    const setupS = (performance.now() - setupStart) / 1000;
    await sleep(SETTLE_S * 1000);

    // 3. The window.
    const bridgedPatients = patients.filter((p) => p.agentCall);
    const holding = patients.filter((p) => p.dialog && !p.agentCall);
    const agentMedia = bridgedPatients.map((p) => p.agentCall!.media);
    for (const phone of [...patients.map((p) => p.phone), ...agentMedia]) phone.forget();
    // Every patient's phone sends (on hold too, as phones do), and every agent's.
    const senders = [...patients.filter((p) => p.dialog).map((p) => p.phone), ...agentMedia];
    const sentBefore = senders.map((phone) => phone.sent);
    const before = groups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    const benchBefore = process.cpuUsage();
    loop.reset();
    const start = Date.now();
    const wallStart = performance.now();
    await sleep(WINDOW_S * 1000);
    const end = Date.now();
    const wallS = (performance.now() - wallStart) / 1000;
    const after = groups.map(([, pid]) => (pid === undefined ? undefined : groupUsage(pid)));
    const bench = process.cpuUsage(benchBefore);
    const sentIn = new Map(senders.map((phone, i) => [phone, phone.sent - (sentBefore[i] ?? 0)]));
    const count = (phone: PatientPhone): number => phone.received.filter((p) => p.at >= start && p.at < end).length;
    // Each end of a bridged call is judged by what the other end sent in the window.
    const delivered = (pairs: Array<[receiver: PatientPhone, sender: PatientPhone]>): RateSummary =>
      summarize(pairs.map(([receiver, sender]) => deliveredPps(count(receiver), sentIn.get(sender) ?? 0)));
    const cpuShare: Record<string, number> = {};
    const rssMiB: Record<string, number> = {};
    groups.forEach(([name], i) => {
      const a = after[i];
      const b = before[i];
      if (!a || !b) return;
      cpuShare[name] = ((a.ticks - b.ticks) / CLOCK_TICKS / wallS) * 100;
      // Kamailio's processes share memory: PSS counts it once.
      rssMiB[name] = (name === 'kamailio' ? a.pssKb : a.rssKb) / 1024;
    });
    cpuShare['bench'] = ((bench.user + bench.system) / 1e6 / wallS) * 100;
    const rates = (phones: readonly PatientPhone[]): RateSummary =>
      summarize(phones.map((phone) => rateOver(phone.received, start, end)));
    const toneShare = (phones: readonly PatientPhone[], hz: number): number => {
      const packets = phones.flatMap((phone) => phone.received.filter((p) => p.at >= start && p.at < end));
      return packets.length ? (100 * packets.filter((p) => isTone(p, hz)).length) / packets.length : NaN;
    };
    const row: StageRow = {
      stage: index + 1,
      hold: holding.length,
      bridged: bridgedPatients.length,
      setupS,
      holding: rates(holding.map((p) => p.phone)),
      atPatients: delivered(bridgedPatients.map((p) => [p.phone, p.agentCall!.media])),
      atAgents: delivered(bridgedPatients.map((p) => [p.agentCall!.media, p.phone])),
      receivedAtPatients: rates(bridgedPatients.map((p) => p.phone)),
      sendersPps: summarize(senders.map((phone) => (sentIn.get(phone) ?? 0) / wallS)),
      toneAtPatients: toneShare(
        bridgedPatients.map((p) => p.phone),
        AGENT_TONE_HZ,
      ),
      toneAtAgents: toneShare(agentMedia, PATIENT_TONE_HZ),
      failedCalls,
      cpu: cpuShare,
      rssMiB,
      benchLoopP99Ms: loop.percentile(99) / 1e6,
      rtpengineSockets: sockets(stack.rtpengine.process.pid),
      sharedPorts: [stack.rtpengine, peer].flatMap((engine) =>
        sharedPorts(
          engine.portMin,
          engine.portMax,
          new Set(engine.process.pid === undefined ? [] : [engine.process.pid]),
        ),
      ),
      loadBefore,
      loadAfter: loadAverage(),
    };
    const reason = stopReason({
      holding: row.holding,
      atPatients: row.atPatients,
      atAgents: row.atAgents,
      failedCalls,
      loadGenerator: { sendersMedianPps: row.sendersPps.median, loopP99Ms: row.benchLoopP99Ms },
    });
    if (reason) row.stop = reason;
    rows.push(row);
    printStage(row);
    if (row.sharedPorts.length > 0)
      console.error(
        `media ports another process holds too (its calls and ours lose packets to each other): ${row.sharedPorts.join('; ')}`,
      );
    // A bridged call short of 48 pps either way: what both rtpengines logged for it and their streams.
    for (const p of bridgedPatients) {
      const call = p.agentCall!;
      if (
        deliveredPps(count(p.phone), sentIn.get(call.media) ?? 0) >= MIN_PPS &&
        deliveredPps(count(call.media), sentIn.get(p.phone) ?? 0) >= MIN_PPS
      )
        continue;
      console.error(
        `bridged call of ${p.number} short of ${MIN_PPS} pps (at the patient ${count(p.phone)}, at the agent ${count(call.media)} packets; agent sent ${sentIn.get(call.media)}, patient ${sentIn.get(p.phone)})`,
      );
      const deskline = /^X-Deskline-Call-Id:\s*(\S+)/im.exec(call.ring.invite.raw)?.[1] ?? '';
      const ids = [call.ring.callId, p.dialog?.callId ?? '', deskline].filter((id) => id !== '');
      for (const [name, log] of [
        ['server rtpengine', stack.rtpengine.log],
        ["agents' rtpengine", peer.log],
      ] as const) {
        for (const line of log.filter((l) => ids.some((id) => l.includes(id))).slice(-16))
          console.error(`  ${name} | ${line}`);
      }
      // Each rtpengine's streams of the call: which hop stopped carrying packets.
      for (const [name, engine, id] of [
        ['server rtpengine', stack.rtpengine, deskline],
        ["agents' rtpengine", peer, call.ring.callId],
      ] as const) {
        if (id === '') continue;
        const answer = await engine
          .ng({ command: 'query', 'call-id': id })
          .catch((err: unknown) => ({ error: String(err) }));
        console.error(`  ${name} query: ${streamsOf(answer)}`);
      }
    }
    for (const phone of [...patients.map((p) => p.phone), ...agentMedia]) phone.forget();
    if (reason) break;
  }

  console.log(`\n${table(rows)}\n`);
  const lastRow = rows[rows.length - 1];
  console.log(
    lastRow?.stop
      ? `stopped after stage ${lastRow.stage}: ${lastRow.stop}`
      : 'every stage held (no caller below 48 pps, no call failed): raise --hold/--bridged to find the limit',
  );
  // Every patient hangs up; a call the sip app had lost would answer 481 or not at all.
  const byes = { ok: 0, other: 0 };
  const up = patients.filter((p) => p.dialog);
  for (let i = 0; i < up.length; i += 20) {
    await Promise.all(
      up.slice(i, i + 20).map(async (p) => {
        const status = await p.dialog!.hangUp(CALL_TIMEOUT).then(
          (answer) => answer.status,
          () => 0,
        );
        if (status === 200) byes.ok += 1;
        else byes.other += 1;
      }),
    );
  }
  console.log(`calls still up at the end (patient's BYE answered 200): ${byes.ok}/${up.length}`);
  console.log(
    `started ${startedAt.toISOString()}: ${uptimeStart}\nended   ${new Date().toISOString()}: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`,
  );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ startedAt, uptimeStart, cpus: CPUS, pinnedTo: cpu, window: WINDOW_S, rows, byes }, null, 2),
    );
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  // A saturated run can take long to close hundreds of sockets; past 30 s the exit kills the servers
  // (the helpers' killOnExit), so nothing is left behind either way.
  await Promise.race([
    stopAll(),
    sleep(30_000).then(() => console.error('clean-up took over 30 s: killing the servers')),
  ]);
  process.exit();
}

/** An ng `query` answer in one line: per tag, each stream's local port, peer and packets/bytes received. */
function streamsOf(answer: unknown): string {
  const text = (v: unknown): string =>
    Buffer.isBuffer(v)
      ? v.toString()
      : typeof v === 'object' && v !== null
        ? JSON.stringify(v, (_, x: unknown) => (Buffer.isBuffer(x) ? x.toString() : x))
        : String(v);
  const tags = (answer as { tags?: Record<string, { medias?: Array<{ streams?: Array<Record<string, unknown>> }> }> })
    .tags;
  if (!tags) return text(answer);
  return Object.entries(tags)
    .map(
      ([tag, t]) =>
        `${tag}: ` +
        (t.medias ?? [])
          .flatMap((m) => m.streams ?? [])
          .map(
            (st) =>
              `local ${text(st['local port'])} peer ${text(st['endpoint'])} in ${text(st['stats'])} flags ${text(st['flags'])}`,
          )
          .join('; '),
    )
    .join(' | ');
}

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function printStage(row: StageRow): void {
  const cpu = Object.entries(row.cpu)
    .map(([name, share]) => `${name} ${fixed(share)}%`)
    .join(', ');
  console.log(
    `stage ${row.stage}: ${row.hold} on hold, ${row.bridged} bridged (set up in ${fixed(row.setupS)} s, ${row.failedCalls} failed); ` +
      `hold pps min ${fixed(row.holding.min)} p5 ${fixed(row.holding.p5)} median ${fixed(row.holding.median)} (silent ${row.holding.silent}); ` +
      `bridged, delivered (× 50 pps): at patients min ${fixed(row.atPatients.min)} median ${fixed(row.atPatients.median)} (agent's tone ${fixed(row.toneAtPatients)} %), ` +
      `at agents min ${fixed(row.atAgents.min)} median ${fixed(row.atAgents.median)} (patient's tone ${fixed(row.toneAtAgents)} %); ` +
      `senders sent min ${fixed(row.sendersPps.min)} median ${fixed(row.sendersPps.median)} pps, patients received min ${fixed(row.receivedAtPatients.min)}; ` +
      `CPU % of one core: ${cpu}; bench loop p99 ${fixed(row.benchLoopP99Ms)} ms; rtpengine sockets ${row.rtpengineSockets}; media ports shared with other processes ${row.sharedPorts.length}; load ${row.loadBefore} → ${row.loadAfter}${row.stop ? `; STOP: ${row.stop}` : ''}`,
  );
}

/** The curve as a markdown table for bench/README.md. */
function table(all: readonly StageRow[]): string {
  const server = ['rtpengine', 'kamailio', 'sip app', 'redis-server'];
  const header =
    "| on hold | bridged | hold pps min / p5 / median | bridged, delivered at patients min / median | at agents min / median | bench senders' pps median | rtpengine | kamailio | sip app | redis | server, % of 2 cores | agents' rtpengine | bench | load before → after | result |";
  const lines = all.map((r) => {
    const serverTotal = server.reduce((sum, name) => sum + (r.cpu[name] ?? 0), 0);
    return `| ${r.hold} | ${r.bridged} | ${fixed(r.holding.min)} / ${fixed(r.holding.p5)} / ${fixed(r.holding.median)} | ${fixed(r.atPatients.min)} / ${fixed(r.atPatients.median)} | ${fixed(r.atAgents.min)} / ${fixed(r.atAgents.median)} | ${fixed(r.sendersPps.median)} | ${server.map((name) => fixed(r.cpu[name] ?? NaN)).join(' | ')} | ${fixed(serverTotal / CPUS)} | ${fixed(r.cpu["agents' rtpengine"] ?? NaN)} | ${fixed(r.cpu['bench'] ?? NaN)} | ${r.loadBefore.split(' ')[0]} → ${r.loadAfter.split(' ')[0]} | ${r.stop ?? 'held'} |`;
  });
  return [header, `|${' --- |'.repeat(header.split('|').length - 2)}`, ...lines].join('\n');
}
