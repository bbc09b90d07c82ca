/**
 * The chaos run of issue 13, shared by the short run (`shortChaos`: a few calls, each service
 * killed once; tests/e2e/chaos-restart.test.ts in `npm test`, and bench/chaos.ts --short) and the full one (bench/chaos.ts:
 * 50 calls over 5 minutes, each service killed twice). Under the launcher (chaos-stack.ts), patients call the clinic line over SIP/UDP as a trunk
 * would (INVITE and BYE sent again until answered), browser workstations (Node WebRTC agents:
 * webrtc-agent.ts, reconnecting as JsSIP does) answer whatever rings them and every re-INVITE, and a manager's panel (the push socket) shows the board, while Kamailio,
 * rtpengine, the sip app, signaling and Redis are killed with SIGKILL in turn at moments drawn from a
 * seeded PRNG (CHAOS_SEED replays a run). What it measures, per call and per kill:
 *
 * - silence: the longest gap between RTP packets received at the patient (from the 200 until either
 *   side hangs up) and at the agent (from the ACK until either side hangs up);
 * - dropped: a BYE reaching the patient or the agent that neither of them asked for (the other side
 *   had not hung up), or a hang-up answered 481 (the server had ended the call without a word);
 * - hang-up problems: one side hung up and the other was not told within 5 s (a BYE answered other
 *   than 200 is noted; what a user would notice of it is what these checks and the ghost checks see);
 * - ghost: after everyone hung up and a settle time, a call of theirs still in calls:active or
 *   calls:waiting, or a call hash not ended; and any ring of an agent for a patient gone over 2 s;
 * - board: before each kill and at the end, the calls the manager's panel shows as live against the
 *   calls the test knows are up (bridged or queued), allowed 5 s to agree;
 * - per kill: until the launcher started the service again and until it passed its health check.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { type CallView, type PushEvent } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { PhonePageServer } from './browser-phone.js';
import { launchBrowser } from './browser.js';
import {
  ChromiumAgent,
  NodeAgent,
  SilenceMeter,
  type AgentCall,
  type AgentRing,
  type ChaosAgent,
} from './chaos-agents.js';
import { CHAOS_SERVICES, type ChaosService, type KillResult, type LaunchedStack } from './chaos-stack.js';
import { PatientLine, type PatientDialog } from './patient-line.js';
import { PatientPhone } from './patient-phone.js';
import { prng } from './prng.js';
import { startTestRtpengine } from './rtpengine.js';
import { Staff } from './staff.js';
import { WebRtcAgent } from './webrtc-agent.js';

/** The clinic line the launcher's sip app answers by default (CLINIC_NUMBERS). */
const CLINIC_LINE = '100';
/** A gap longer than this at a patient or an agent fails the run (issue 13: goal < 2 s). */
export const MAX_SILENCE_MS = 2000;
/** An agent rung this long after the patient hung up was rung for a ghost. */
const GHOST_RING_MS = 2000;
/** The board may lag the calls by this much before a difference counts. */
const BOARD_AGREE_MS = 5000;

/** CHAOS_SEED from the environment, or a new one; the run prints it. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['CHAOS_SEED'];
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given)) throw new Error(`CHAOS_SEED=${JSON.stringify(given)} must be a whole number`);
    return Number(given) >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

export interface ChaosOptions {
  seed: number;
  /** How many patients call. */
  calls: number;
  /** Patients call at moments spread over this (ms from the start). */
  arrivalsMs: number;
  /** Kills are spread over this (ms from the start), one service after the other. */
  killsMs: number;
  /** How many times each service is killed. */
  rounds: number;
  agents: number;
  /** How many of the agents are Chromium pages (JsSIP, tests/helpers/browser-phone.ts) instead of Node WebRTC agents; 0 by default. */
  chromiumAgents?: number;
  /** A patient hangs up this long after the answer (uniform in [min, max] ms), whether waiting or talking. */
  patienceMs: [number, number];
  /** An agent hangs up this long after answering, unless the patient did first. */
  talkMs: [number, number];
  /** After the last hang-up, before looking for ghosts: the keepalive's interval + 10 s at least. */
  settleMs: number;
  log?: (line: string) => void;
}

interface PlannedCall {
  index: number;
  number: string;
  atMs: number;
  patienceMs: number;
  talkMs: number;
}

interface PlannedKill {
  service: ChaosService;
  atMs: number;
}

export function chaosPlan(options: ChaosOptions): { calls: PlannedCall[]; kills: PlannedKill[] } {
  const random = prng(options.seed);
  const between = ([min, max]: [number, number]): number => Math.round(min + random() * (max - min));
  const calls = Array.from({ length: options.calls }, (_, index) => ({
    index,
    number: `+49170${String(options.seed % 1000).padStart(3, '0')}${String(index).padStart(4, '0')}`,
    atMs: Math.round(random() * options.arrivalsMs),
    patienceMs: between(options.patienceMs),
    talkMs: between(options.talkMs),
  })).sort((a, b) => a.atMs - b.atMs);
  // Slots of equal length after a first tenth with calls only; each kill at a random moment of the
  // first 60 % of its slot, so the service has the rest of it to come back before the next kill.
  const order = Array.from({ length: options.rounds }, () => CHAOS_SERVICES).flat();
  const start = options.killsMs * 0.1;
  const slot = (options.killsMs - start) / order.length;
  const kills = order.map((service, i) => ({ service, atMs: Math.round(start + i * slot + random() * slot * 0.6) }));
  return { calls, kills };
}

/**
 * The short run, as `npm test` (tests/e2e/chaos-restart.test.ts) and `npm run bench:chaos -- --short`
 * run it: 12 calls over 70 s, 3 agents (one Chromium), each service killed once, the patients'
 * keepalive every 10 s so that a ghost has 20 s to go before the check.
 */
export const SHORT_KEEPALIVE_SECONDS = 10;
export const SHORT_STACK = { env: { PATIENT_KEEPALIVE_SECONDS: String(SHORT_KEEPALIVE_SECONDS) }, rtpPorts: 200 };
export function shortChaos(seed: number): ChaosOptions {
  return {
    seed,
    calls: 12,
    arrivalsMs: 70_000,
    killsMs: 100_000,
    rounds: 1,
    agents: 3,
    chromiumAgents: 1,
    patienceMs: [20_000, 45_000],
    talkMs: [8_000, 25_000],
    settleMs: (SHORT_KEEPALIVE_SECONDS + 10) * 1000,
  };
}

/** One patient's call as the test saw it. */
export interface CallResult {
  number: string;
  /** ms from the start when the patient dialled. */
  atMs: number;
  /** Not answered 200: the status or error. */
  refused?: string;
  bridged: boolean;
  /** The patient's SIP Call-ID, to find the call in the launcher's log. */
  sipCallId?: string;
  /** When the agent answered (s since the start). */
  bridgedAtS?: number;
  /** The agent who answered: a Node WebRTC agent or Chromium. */
  agent?: 'node' | 'chromium';
  /** Who hung up first: the patient, the agent, or neither (the server did). */
  endedBy?: 'patient' | 'agent' | 'server';
  patientSilenceMs?: number;
  patientSilenceFromS?: number;
  agentSilenceMs?: number;
  agentSilenceFromS?: number;
  /** A BYE neither side asked for: where it arrived and when (s). */
  dropped?: string;
  /**
   * Failures: a hang-up the other side was not told of within 5 s (or told later), a re-INVITE the
   * agent could not answer.
   */
  byeProblems: string[];
  /**
   * Not failures by themselves: a BYE answered other than 200 (503 while the sip app restarts, say).
   * What the user would notice of it is checked apart: the other side not told, a ghost, a ghost ring.
   */
  notes?: string[];
  /** When a hang-up that never reached the other side was made (s since the start). */
  untoldFromS?: number;
  /** re-INVITEs the agent answered (after an rtpengine restart). */
  reinvites?: number;
  ghost?: string;
}

export interface BoardCheck {
  atS: number;
  /** Empty when the board agreed with the calls. */
  differences: string[];
}

export interface ChaosReport {
  seed: number;
  calls: CallResult[];
  kills: KillResult[];
  board: BoardCheck[];
  /** Agents rung for a patient who had hung up over 2 s before. */
  ghostRings: string[];
  /** Calls left in Redis (calls:active, calls:waiting) once everyone had hung up and the run settled. */
  ghosts: string[];
  boardReconnects: number;
  agentReconnects: number;
  /** REGISTERs of the agents after their first (refreshes, after a reconnect) not answered 200. */
  agentRegisterFailures: string[];
  durationS: number;
}

interface LiveCall {
  plan: PlannedCall;
  result: CallResult;
  phone?: PatientPhone;
  dialog?: PatientDialog;
  patientMeter?: SilenceMeter;
  agentCall?: AgentCall;
  answeredAt?: number;
  /** When an agent's answer bridged it. */
  bridgedAt?: number;
  hungUpAt?: number;
  /** When it ended in the test's eyes (a hang-up or the server's BYE). */
  endedAt?: number;
  /** Set when the patient's line is settled: hung up or told. */
  done: Promise<void>;
}

/** The manager's panel: the calls its push socket shows, kept across signaling restarts as the panel does. */
export class BoardWatcher {
  readonly calls = new Map<string, CallView>();
  reconnects = 0;
  private socket: WebSocket | undefined;
  private stopped = false;
  private cookie = '';

  private constructor(
    private readonly baseUrl: string,
    private readonly login: { email: string; password: string },
  ) {}

  static async open(baseUrl: string, login: { email: string; password: string }): Promise<BoardWatcher> {
    const board = new BoardWatcher(baseUrl, login);
    await board.connect();
    return board;
  }

  /** Calls the board shows as not over, by the patient's number. */
  live(): Map<string, CallView> {
    return new Map(
      [...this.calls.values()].filter((c) => c.state !== 'ended' && c.state !== 'abandoned').map((c) => [c.from, c]),
    );
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.stopped = true;
    this.socket?.close(1000);
  }

  private async logIn(): Promise<void> {
    const response = await fetch(`${this.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.login),
      signal: AbortSignal.timeout(5000),
    });
    if (response.status !== 200) throw new Error(`the manager could not log in: ${response.status}`);
    this.cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
  }

  private async connect(): Promise<void> {
    if (!this.cookie) await this.logIn();
    const socket = await new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/api/push`, {
        headers: { cookie: this.cookie },
        handshakeTimeout: 5000,
      });
      ws.once('unexpected-response', (_req, res) => {
        // The session is gone (a Redis restart that lost it): log in again next time.
        if (res.statusCode === 401) this.cookie = '';
        reject(new Error(`push socket refused: ${res.statusCode}`));
      });
      ws.once('error', reject);
      ws.once('open', () => resolve(ws));
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      const event = JSON.parse(data.toString()) as PushEvent;
      if (event.type === 'hello') {
        this.calls.clear();
        for (const call of event.calls) this.calls.set(call.id, call);
      } else if (event.type === 'call') {
        this.calls.set(event.call.id, event.call);
      }
    });
    socket.once('close', () => void this.reconnect());
    this.socket = socket;
  }

  /** As the panel does after its socket closed: again every second until it is back. */
  private async reconnect(): Promise<void> {
    while (!this.stopped) {
      await sleep(1000);
      try {
        await this.connect();
        this.reconnects += 1;
        return;
      } catch {
        // signaling is still down, or the session was lost: try again
      }
    }
  }
}

/** Runs the plan against a launched stack; never throws for what it measures, only for a broken harness. */
export async function runChaos(stack: LaunchedStack, options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const plan = chaosPlan(options);
  const cleanups: Array<() => unknown> = [];
  const redis = stack.redis();
  cleanups.push(() => redis.disconnect());
  try {
    const peer = await startTestRtpengine({ ports: Math.max(100, options.agents * 8 + 40) });
    cleanups.push(() => peer.stop());
    const line = await PatientLine.open(stack.config.sip.sipPort, { retransmit: true });
    cleanups.push(() => line.close());
    const staff = new Staff(redis, stack.config.sip.domain);
    const board = await BoardWatcher.open(stack.httpUrl, stack.managerLogin());
    cleanups.push(() => board.close());

    let browser: { context: import('playwright-core').BrowserContext; pages: PhonePageServer } | undefined;
    const chromium = async (): Promise<{ context: import('playwright-core').BrowserContext; pageUrl: string }> => {
      if (!browser) {
        const launched = await launchBrowser();
        const pages = await PhonePageServer.start();
        cleanups.push(
          () => launched.close(),
          () => pages.close(),
        );
        browser = { context: launched.context, pages };
      }
      return { context: browser.context, pageUrl: browser.pages.url };
    };

    const runStart = Date.now();
    const sinceStart = (at = Date.now()): number => (at - runStart) / 1000;
    // A wait for a BYE lasts until 30 s after the last planned hang-up, and no longer: its timer would
    // keep the process alive.
    const lastEnd = Math.max(...plan.calls.map((c) => c.atMs + c.patienceMs)) + 30_000;
    const untilLastEnd = (): number => Math.max(1000, runStart + lastEnd - Date.now());
    const live = new Map<string, LiveCall>();
    const ghostRings: string[] = [];
    let running = true;

    // Agents: browser workstations that answer whatever rings them, and hang up after their talk time.
    const agents: ChaosAgent[] = [];
    for (let i = 0; i < options.agents; i++) {
      const workstation = await staff.workstation(`Chaos ${i}`);
      const agent =
        i < (options.chromiumAgents ?? 0)
          ? await ChromiumAgent.start(await chromium(), stack.edge, workstation.id, runStart)
          : new NodeAgent(await WebRtcAgent.register(stack.edge, workstation.id, peer, { reconnect: true }), runStart);
      agents.push(agent);
      cleanups.push(() => agent.close());
      await staff.available(`chaos-agent-${i}`, workstation.id);
    }
    const agentLoops = agents.map(async (agent, i) => {
      while (running) {
        let ring: AgentRing;
        try {
          ring = await agent.nextRing(5_000);
        } catch {
          continue;
        }
        const call = live.get(ring.number);
        if (!call || (call.hungUpAt !== undefined && Date.now() - call.hungUpAt > GHOST_RING_MS)) {
          const gone =
            call?.hungUpAt !== undefined
              ? `, ${((Date.now() - call.hungUpAt) / 1000).toFixed(1)} s after the patient hung up`
              : '';
          ghostRings.push(`agent ${i} (${agent.kind}) rung for ${ring.number} at ${sinceStart().toFixed(1)} s${gone}`);
        }
        let answered: AgentCall;
        try {
          answered = await ring.answer(untilLastEnd);
        } catch {
          continue; // cancelled as it rang, say: the call goes on elsewhere or is over
        }
        if (!call || call.endedAt !== undefined) {
          await answered.hangUp().catch(() => undefined);
          answered.close();
          continue;
        }
        call.agentCall = answered;
        call.result.bridged = true;
        call.result.agent = agent.kind;
        call.bridgedAt = Date.now();
        call.result.bridgedAtS = sinceStart(call.bridgedAt);
        const stopMeter = async (at?: number): Promise<void> => {
          const silence = await answered.silence(at).catch(() => undefined);
          if (!silence) return;
          call.result.agentSilenceMs = silence.maxGapMs;
          call.result.agentSilenceFromS = silence.fromMs / 1000;
        };
        const hangUp = sleep(call.plan.talkMs).then(() => undefined);
        const first = await Promise.race([
          answered.ended.then((at) => ({ bye: at })),
          hangUp.then(() => ({ bye: undefined })),
          call.done.then(() => ({ bye: undefined })),
        ]);
        if (first.bye !== undefined) {
          // A BYE to the agent: the patient's, passed on, or one nobody asked for.
          await stopMeter(call.hungUpAt ?? first.bye);
          if (call.hungUpAt === undefined && call.result.dropped === undefined) {
            call.result.dropped = `at the agent, ${sinceStart(first.bye).toFixed(1)} s`;
            call.result.endedBy = 'server';
          }
        } else if (call.endedAt === undefined) {
          // The agent hangs up first; the patient must then get the BYE (watched by the patient's side).
          call.endedAt = Date.now();
          call.result.endedBy = 'agent';
          call.patientMeter?.stop();
          await stopMeter(call.endedAt);
          const answer = await answered.hangUp();
          if (answer !== '200' && answer !== 'sent') (call.result.notes ??= []).push(`agent's BYE answered ${answer}`);
          if (answer === '481')
            call.result.dropped ??= `silently: the agent's BYE at ${sinceStart(call.endedAt).toFixed(1)} s answered 481`;
        } else {
          // The patient hung up: its BYE must reach the agent.
          await stopMeter(call.hungUpAt);
          const at = await Promise.race([answered.ended, sleep(5000).then(() => undefined)]);
          if (at === undefined) {
            call.result.byeProblems.push(
              call.result.endedBy === 'server'
                ? 'the agent was not told the call ended'
                : "the patient's BYE did not reach the agent within 5 s",
            );
          }
        }
        call.result.reinvites = answered.reinvites;
        for (const problem of answered.problems) call.result.byeProblems.push(problem);
        answered.close();
      }
    });

    // Patients.
    const patient = async (planned: PlannedCall): Promise<void> => {
      const result: CallResult = { number: planned.number, atMs: planned.atMs, bridged: false, byeProblems: [] };
      let settle = (): void => undefined;
      const call: LiveCall = { plan: planned, result, done: new Promise((resolve) => (settle = resolve)) };
      live.set(planned.number, call);
      await sleep(Math.max(0, runStart + planned.atMs - Date.now()));
      const phone = await PatientPhone.open();
      call.phone = phone;
      try {
        call.dialog = await line.call({
          line: CLINIC_LINE,
          rtpPort: phone.port,
          from: planned.number,
          timeoutMs: 10_000,
        });
      } catch (err) {
        result.refused = String(err)
          .replace(/^Error: /, '')
          .slice(0, 120);
        call.endedAt = call.hungUpAt = Date.now();
        phone.close();
        settle();
        return;
      }
      call.answeredAt = Date.now();
      result.sipCallId = call.dialog.callId;
      call.patientMeter = new SilenceMeter(phone, runStart, call.answeredAt);
      const bye = call.dialog.waitForBye(untilLastEnd()).then(
        () => Date.now(),
        () => undefined,
      );
      const first = await Promise.race([
        bye.then((at) => ({ bye: at })),
        sleep(planned.patienceMs).then(() => ({ bye: undefined })),
      ]);
      if (first.bye !== undefined) {
        // The server hung up on the patient: fine after the agent did, a drop otherwise.
        call.patientMeter.stop(call.endedAt ?? first.bye);
        if (result.endedBy === 'agent' && call.endedAt !== undefined && first.bye - call.endedAt > 5000) {
          result.byeProblems.push(
            `the agent's hang-up reached the patient ${((first.bye - call.endedAt) / 1000).toFixed(1)} s late`,
          );
        }
        if (result.endedBy !== 'agent' && result.dropped === undefined) {
          result.dropped = `at the patient, ${sinceStart(first.bye).toFixed(1)} s`;
          result.endedBy = 'server';
        }
        call.endedAt ??= first.bye;
        call.hungUpAt = first.bye;
      } else if (result.endedBy === 'agent') {
        // The agent hung up but no BYE came to the patient, who sat on a line with nobody there.
        call.hungUpAt = Date.now();
        const agentAt = call.endedAt ?? call.hungUpAt;
        result.byeProblems.push(
          `the agent hung up at ${sinceStart(agentAt).toFixed(1)} s and the patient was not told: ` +
            `${((call.hungUpAt - agentAt) / 1000).toFixed(1)} s on a line with nobody, until they hung up themselves`,
        );
        result.untoldFromS = sinceStart(agentAt);
        await call.dialog.hangUp(5000).catch(() => undefined);
      } else {
        call.hungUpAt = call.endedAt = Date.now();
        result.endedBy = 'patient';
        call.patientMeter.stop();
        const answer = await call.dialog.hangUp(5000).then(
          (m) => String(m.status),
          (err: unknown) => `no answer (${String(err).slice(0, 60)})`,
        );
        if (answer !== '200') (result.notes ??= []).push(`patient's BYE answered ${answer}`);
        // 481: the sip app had ended the call without telling the patient.
        if (answer === '481')
          result.dropped ??= `silently: the patient's BYE at ${sinceStart(call.hungUpAt).toFixed(1)} s answered 481`;
      }
      result.patientSilenceMs = call.patientMeter.maxGapMs;
      result.patientSilenceFromS = call.patientMeter.maxGapFromMs / 1000;
      settle();
      phone.close();
    };

    // The board against the calls: those answered and not over, bridged or not.
    const boardCheck = async (): Promise<BoardCheck> => {
      const atS = sinceStart();
      let differences: string[];
      const deadline = Date.now() + BOARD_AGREE_MS;
      for (;;) {
        differences = [];
        const now = Date.now();
        const shown = board.live();
        const inFlux = (c: LiveCall): boolean =>
          [c.answeredAt, c.bridgedAt, c.hungUpAt, c.endedAt].some((t) => t !== undefined && now - t < 1500);
        for (const c of live.values()) {
          if (c.answeredAt === undefined || inFlux(c)) continue;
          const up = c.endedAt === undefined;
          const view = shown.get(c.plan.number);
          if (up && !view)
            differences.push(`${c.plan.number} is ${c.agentCall ? 'bridged' : 'queued'} but not on the board`);
          if (!up && view)
            differences.push(
              `${c.plan.number} hung up ${sinceStart(c.endedAt).toFixed(1)} s but the board shows it ${view.state}`,
            );
          if (up && view && (view.state === 'bridged') !== (c.agentCall !== undefined)) {
            differences.push(
              `${c.plan.number} is ${c.agentCall ? 'bridged' : 'queued'} but the board shows it ${view.state}`,
            );
          }
        }
        for (const number of shown.keys())
          if (!live.has(number)) differences.push(`the board shows a call from ${number}, which no patient made`);
        if (differences.length === 0 || Date.now() > deadline) break;
        await sleep(500);
      }
      return { atS, differences };
    };

    const checks: BoardCheck[] = [];
    const kills: KillResult[] = [];
    const killer = (async () => {
      for (const k of plan.kills) {
        await sleep(Math.max(0, runStart + k.atMs - Date.now()));
        if (!stack.run.running) {
          kills.push({ service: k.service, atS: sinceStart(), pid: 0, error: 'the launcher had stopped' });
          continue;
        }
        checks.push(await boardCheck());
        const result = await stack.kill(k.service, runStart);
        kills.push(result);
        log(
          `kill ${k.service} at ${result.atS.toFixed(1)} s: ${result.error ?? `restarted after ${result.restartedMs} ms, healthy after ${result.healthyMs} ms`}`,
        );
      }
    })();

    log(
      `chaos: seed ${options.seed} (CHAOS_SEED=${options.seed} replays it); ${options.calls} calls over ${options.arrivalsMs / 1000} s, ${options.agents} agents, ` +
        `kills: ${plan.kills.map((k) => `${k.service}@${(k.atMs / 1000).toFixed(0)}s`).join(' ')}`,
    );
    await Promise.all([...plan.calls.map(patient), killer]);
    running = false;
    await Promise.all(agentLoops);
    log(
      `every patient hung up at ${sinceStart().toFixed(1)} s; settling ${options.settleMs / 1000} s before looking for ghosts`,
    );
    await sleep(options.settleMs);

    // Ghosts: calls in Redis whose patient has hung up (all have by now).
    const ghosts: string[] = [];
    try {
      const ids = [
        ...new Set([
          ...(await redis.smembers(RedisKeys.activeCalls)),
          ...(await redis.zrange(RedisKeys.waitingCalls, 0, -1)),
        ]),
      ];
      for (const id of ids) {
        const hash = await redis.hgetall(RedisKeys.call(id));
        const text = `${id} from ${hash['from'] ?? '?'} (${hash['state'] ?? 'no hash'})`;
        ghosts.push(text);
        const c = hash['from'] ? live.get(hash['from']) : undefined;
        if (c) c.result.ghost = text;
      }
    } catch (err) {
      ghosts.push(`Redis could not be read: ${String(err)}`);
    }
    checks.push(await boardCheck());

    return {
      seed: options.seed,
      calls: [...live.values()].map((c) => c.result).sort((a, b) => a.atMs - b.atMs),
      kills,
      board: checks,
      ghostRings,
      ghosts,
      boardReconnects: board.reconnects,
      agentReconnects: (await Promise.all(agents.map((a) => a.reconnects()))).reduce((n, r) => n + r, 0),
      agentRegisterFailures: (await Promise.all(agents.map((a) => a.registerFailures()))).flat(),
      durationS: sinceStart(),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
  }
}

/**
 * The sip app's lines about each call that failed, from the launcher's output (matched by the
 * patient's SIP Call-ID, then by the call id those lines name): what the CI log needs to show why,
 * since the saved launcher output stays on the machine that ran it.
 */
export function failedCallLines(report: ChaosReport, launcherOutput: string, perCall = 60): string {
  const lines = launcherOutput.split('\n');
  const failed = report.calls.filter(
    (c) =>
      c.sipCallId !== undefined &&
      (c.dropped !== undefined ||
        c.byeProblems.length > 0 ||
        (c.patientSilenceMs ?? 0) > MAX_SILENCE_MS ||
        (c.agentSilenceMs ?? 0) > MAX_SILENCE_MS),
  );
  return failed
    .map((c) => {
      const sipCallId = c.sipCallId ?? '';
      const ids = new Set([sipCallId]);
      for (const line of lines) {
        if (!line.includes(sipCallId)) continue;
        const id = /\bcallId=(\S+)/.exec(line)?.[1];
        if (id) ids.add(id);
      }
      const about = lines.filter((line) => [...ids].some((id) => line.includes(id)));
      const shown =
        about.length > perCall ? [...about.slice(0, perCall / 2), '…', ...about.slice(-perCall / 2)] : about;
      return `${c.number} (${sipCallId}), ${about.length} lines:\n  ${shown.join('\n  ')}`;
    })
    .join('\n');
}

/** What failed, in a user's words; empty when the run meets issue 13's bar. */
export function chaosFailures(report: ChaosReport): string[] {
  const failures: string[] = [];
  for (const c of report.calls) {
    if (c.dropped) failures.push(`${c.number} dropped (BYE nobody asked for, ${c.dropped})`);
    if ((c.patientSilenceMs ?? 0) > MAX_SILENCE_MS) {
      failures.push(
        `${c.number}: ${((c.patientSilenceMs ?? 0) / 1000).toFixed(1)} s of silence at the patient from ${c.patientSilenceFromS?.toFixed(1)} s${killBefore(report, c.patientSilenceFromS)}`,
      );
    }
    if ((c.agentSilenceMs ?? 0) > MAX_SILENCE_MS) {
      failures.push(
        `${c.number}: ${((c.agentSilenceMs ?? 0) / 1000).toFixed(1)} s of silence at the agent from ${c.agentSilenceFromS?.toFixed(1)} s${killBefore(report, c.agentSilenceFromS)}`,
      );
    }
    for (const problem of c.byeProblems)
      failures.push(`${c.number}: ${problem}${problem.includes('not told') ? killBefore(report, c.untoldFromS) : ''}`);
  }
  for (const ghost of report.ghosts) failures.push(`ghost in Redis: ${ghost}`);
  for (const ring of report.ghostRings) failures.push(`ghost ring: ${ring}`);
  for (const check of report.board)
    for (const d of check.differences) failures.push(`board at ${check.atS.toFixed(1)} s: ${d}`);
  for (const kill of report.kills)
    if (kill.error) failures.push(`${kill.service} killed at ${kill.atS.toFixed(1)} s: ${kill.error}`);
  return failures;
}

/** The kill a silence starting at `fromS` most likely followed: the last one up to 10 s before it (0.5 s after, for clocks). */
function killBefore(report: ChaosReport, fromS: number | undefined): string {
  if (fromS === undefined) return '';
  const kill = report.kills.filter((k) => k.atS <= fromS + 0.5 && fromS - k.atS <= 10).at(-1);
  return kill ? `, ${kill.service} killed at ${kill.atS.toFixed(1)} s` : '';
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(2));

/** The run as markdown tables (per kill, per call) and a summary line, for the log and bench/README.md. */
export function chaosTables(report: ChaosReport): string {
  const silence = (ms: number | undefined, fromS: number | undefined): string =>
    ms === undefined
      ? '–'
      : `${seconds(ms)} (${fromS?.toFixed(1)}${ms > MAX_SILENCE_MS ? killBefore(report, fromS).replace(' killed at ', ' kill ') : ''})`;
  const kills = [
    '| # | service | killed at (s) | pid → new pid | started again after (s) | healthy after (s) | result |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...report.kills.map(
      (k, i) =>
        `| ${i + 1} | ${k.service} | ${k.atS.toFixed(1)} | ${k.pid} → ${k.newPid ?? '–'} | ${seconds(k.restartedMs)} | ${seconds(k.healthyMs)} | ${k.error ?? 'back'} |`,
    ),
  ];
  const calls = [
    '| patient | called at (s) | bridged | ended by | longest silence at patient (s, from s; kill before it) | at agent | dropped | ghost | hang-up problems (notes) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.calls.map(
      (c) =>
        `| ${c.number} | ${(c.atMs / 1000).toFixed(1)} | ${c.refused ? `refused: ${c.refused}` : c.bridged ? `yes${c.agent === 'chromium' ? ', Chromium' : ''}${c.reinvites ? ` (${c.reinvites} re-INVITE)` : ''}` : 'no'} | ${c.endedBy ?? '–'} | ` +
        `${silence(c.patientSilenceMs, c.patientSilenceFromS)} | ${silence(c.agentSilenceMs, c.agentSilenceFromS)} | ` +
        `${c.dropped ?? 'no'} | ${c.ghost ?? 'no'} | ${[...c.byeProblems, ...(c.notes ?? []).map((n) => `(${n})`)].join('; ') || '–'} |`,
    ),
  ];
  return [kills.join('\n'), calls.join('\n'), chaosSummary(report)].join('\n\n');
}

export function chaosSummary(report: ChaosReport): string {
  const answered = report.calls.filter((c) => !c.refused);
  /** p50 / p95 / max of the calls' longest silences, in s. */
  const spread = (values: Array<number | undefined>): string => {
    const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const at = (p: number): number | undefined => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return sorted.length ? `${seconds(at(0.5))} / ${seconds(at(0.95))} / ${seconds(sorted.at(-1))}` : '–';
  };
  const silentOver = answered.filter(
    (c) => (c.patientSilenceMs ?? 0) > MAX_SILENCE_MS || (c.agentSilenceMs ?? 0) > MAX_SILENCE_MS,
  ).length;
  const boardBad = report.board.filter((b) => b.differences.length > 0).length;
  return (
    `seed ${report.seed}: ${report.calls.length} calls (${answered.length} answered, ${report.calls.length - answered.length} refused, ` +
    `${answered.filter((c) => c.bridged).length} bridged, ${answered.reduce((n, c) => n + (c.reinvites ?? 0), 0)} re-INVITEs answered by agents); ${report.kills.length} kills (${report.kills.filter((k) => k.error).length} did not come back); ` +
    `each call's longest silence p50 / p95 / max: at the patient ${spread(answered.map((c) => c.patientSilenceMs))} s, ` +
    `at the agent ${spread(answered.map((c) => c.agentSilenceMs))} s; ` +
    `calls silent > ${MAX_SILENCE_MS / 1000} s: ${silentOver}; dropped: ${answered.filter((c) => c.dropped).length}; ` +
    `hang-up problems: ${answered.filter((c) => c.byeProblems.length > 0).length} (BYEs not answered 200: ${answered.filter((c) => c.notes?.length).length}); ghosts in Redis: ${report.ghosts.length}; ghost rings: ${report.ghostRings.length}; ` +
    `board differed at ${boardBad} of ${report.board.length} checks; board reconnects ${report.boardReconnects}, agent reconnects ${report.agentReconnects}, ` +
    `agent re-REGISTERs failed: ${report.agentRegisterFailures.length}${report.agentRegisterFailures.length ? ` (${[...new Set(report.agentRegisterFailures)].slice(0, 3).join('; ')})` : ''}; ` +
    `${report.durationS.toFixed(0)} s`
  );
}
