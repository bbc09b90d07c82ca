/**
 * One service of the launcher through its whole life: its first start (which fails fast), and, once it
 * has been ready, a restart after every crash, with a growing wait in between, as Docker Compose's
 * `restart: unless-stopped` does. The service's state is explicit (ServiceState) and every change of
 * it goes through one check (SERVICE_TRANSITIONS).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeExit,
  lastLines,
  waitUntilHealthy,
  type ExitStatus,
  type ProcessSpec,
  type WatchedProcess,
} from './managed-process.js';

/**
 * - `starting`: a process runs, not yet ready (polled with the service's health check);
 * - `running`: it has been ready; its exit is a crash;
 * - `crashed`: it exited on its own; what is left of its process group is killed;
 * - `backing-off`: waiting before the next start;
 * - `stopping`: asked to stop (SIGTERM, then SIGKILL);
 * - `stopped`: no process, and none will be started: before the first start and after a stop.
 */
export type ServiceState = 'stopped' | 'starting' | 'running' | 'crashed' | 'backing-off' | 'stopping';

/** Every change of state a service may make; ServiceRunner refuses any other. */
export const SERVICE_TRANSITIONS: Readonly<Record<ServiceState, readonly ServiceState[]>> = {
  stopped: ['starting'],
  starting: ['running', 'crashed', 'stopping'],
  running: ['crashed', 'stopping'],
  crashed: ['backing-off', 'stopped'],
  'backing-off': ['starting', 'stopped'],
  stopping: ['stopped'],
};

export function canTransition(from: ServiceState, to: ServiceState): boolean {
  return SERVICE_TRANSITIONS[from].includes(to);
}

export interface RestartPolicy {
  /** The wait before the first restart after a crash. */
  firstDelayMs: number;
  /** Each crash in a row doubles the wait, up to this. */
  maxDelayMs: number;
  /** A service that was ready this long before it crashed starts again from firstDelayMs. */
  resetAfterMs: number;
}

/**
 * Docker's restart policy, with a lower cap: 100 ms, doubling, at most 30 s, back to 100 ms once the
 * service had been ready for 10 s. A service that keeps crashing is tried again every 30 s for as
 * long as the launcher runs (like `unless-stopped`), while the others go on. The first wait is short
 * because a restart of rtpengine or Kamailio is silence on the calls.
 */
export const RESTART_POLICY: RestartPolicy = { firstDelayMs: 100, maxDelayMs: 30_000, resetAfterMs: 10_000 };

/** The waits between one service's restarts. */
export class RestartBackoff {
  private crashesInARow = 0;

  constructor(private readonly policy: RestartPolicy = RESTART_POLICY) {}

  /** How many crashes in a row the last delay was for (1 for the first). */
  get inARow(): number {
    return this.crashesInARow;
  }

  /** The wait before the restart after a crash; `readyForMs` is how long the service had been ready (0: never). */
  nextDelay(readyForMs: number): number {
    if (readyForMs >= this.policy.resetAfterMs) this.crashesInARow = 0;
    const delay = Math.min(this.policy.firstDelayMs * 2 ** this.crashesInARow, this.policy.maxDelayMs);
    this.crashesInARow += 1;
    return delay;
  }
}

/** How a ServiceRunner reaches the world; the supervisor gives the real one, unit tests a fake. */
export interface RunnerContext {
  /** Starts the process (and says so with its pid); throws when the launcher is stopping or the program is missing. */
  spawn(spec: ProcessSpec): WatchedProcess;
  say(message: string, stream?: 'stdout' | 'stderr'): void;
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** What a service is: see ServiceDefinition in supervisor.ts, which extends this. */
export interface RunnableService {
  name: string;
  prepare(): Omit<ProcessSpec, 'name' | 'onLine'>;
  healthy(): Promise<boolean>;
  startTimeoutMs: number;
}

/** How long the launcher waits for the rest of a crashed service's process group to go. */
const LEFTOVER_WAIT_MS = 2_000;

export const realSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  sleep(ms, undefined, { signal }).catch(() => undefined);

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

export class ServiceRunner {
  private current: ServiceState = 'stopped';
  private proc: WatchedProcess | undefined;
  private readySince: number | undefined;
  private everReady = false;
  private crashedAt = 0;
  /** How long it had been ready before its last crash; undefined when it crashed before it was ready. */
  private readyFor: number | undefined;
  private restarts = 0;
  private readonly backoff: RestartBackoff;
  private readonly stopRequested = new AbortController();

  constructor(
    private readonly service: RunnableService,
    private readonly context: RunnerContext,
    policy: RestartPolicy = RESTART_POLICY,
  ) {
    this.backoff = new RestartBackoff(policy);
  }

  get name(): string {
    return this.service.name;
  }

  get state(): ServiceState {
    return this.current;
  }

  /** The process of the service, while it has one. */
  get process(): WatchedProcess | undefined {
    return this.proc;
  }

  /**
   * The first start: resolves once the service is ready, and from then on restarts it after every
   * crash. Throws (leaving the process for stop() to end) when it exits or is not ready in time.
   */
  async start(): Promise<void> {
    this.to('starting');
    const proc = this.spawn();
    try {
      await waitUntilHealthy(proc, () => this.service.healthy(), this.service.startTimeoutMs);
    } catch (err) {
      if (!proc.running && this.current === 'starting') this.to('crashed');
      throw err;
    }
    if (this.isStopping) return;
    this.ready();
    void this.supervise(proc);
  }

  /**
   * Stops the service (or its wait for a restart), saying so, and resolves with how its process ended
   * if it had one.
   */
  async stop(graceMs: number): Promise<ExitStatus | undefined> {
    this.stopRequested.abort();
    if (this.current === 'stopped' || this.current === 'stopping') return this.proc?.exited;
    if (this.current === 'crashed' || this.current === 'backing-off') {
      // After a failed first start there was never anything to restart.
      if (this.everReady) this.context.say(`not restarting ${this.name}: stopping`);
      this.to('stopped');
      return undefined;
    }
    this.to('stopping');
    const proc = this.proc;
    if (proc?.running) this.context.say(`stopping ${this.name}`);
    const status = proc ? await proc.stop(graceMs) : undefined;
    proc?.killGroup();
    this.to('stopped');
    return status;
  }

  /** From now on the service is not started again; a wait for a restart ends. stop() does the rest. */
  noMoreRestarts(): void {
    this.stopRequested.abort();
  }

  /** For the launcher's last moment: SIGKILL to whatever is left of the service's process group. */
  killNow(): void {
    this.stopRequested.abort();
    // After stop() its group is gone already, and its number may be another process's by now.
    if (this.current !== 'stopped') this.proc?.killGroup();
  }

  private get isStopping(): boolean {
    return this.stopRequested.signal.aborted;
  }

  private to(next: ServiceState): void {
    if (!canTransition(this.current, next))
      throw new Error(`${this.name}: no transition from ${this.current} to ${next}`);
    this.current = next;
  }

  private spawn(): WatchedProcess {
    this.proc = this.context.spawn({ name: this.name, ...this.service.prepare() });
    return this.proc;
  }

  private ready(): void {
    this.to('running');
    this.everReady = true;
    this.readySince = this.context.now();
  }

  /** From the first ready on: every exit is a crash, followed by a wait and a new start, until stop(). */
  private async supervise(first: WatchedProcess): Promise<void> {
    let proc: WatchedProcess | undefined = first;
    while (!this.isStopping) {
      const status: ExitStatus = proc ? await proc.died : { code: 127, signal: null };
      if (this.isStopping) return;
      const delay = this.crashed();
      if (proc) await this.killLeftovers(proc);
      if (this.isStopping) return;
      this.reportCrash(status, proc, delay);
      this.to('backing-off');
      await this.context.sleep(delay, this.stopRequested.signal);
      if (this.isStopping) return;
      this.to('starting');
      this.restarts += 1;
      proc = this.respawn();
      if (proc && (await this.waitUntilReady(proc))) {
        if (this.isStopping) return;
        this.ready();
        this.context.say(
          `${this.name} is ready again (pid ${proc.pid ?? 'unknown'}, restart ${this.restarts}, ` +
            `down for ${seconds(this.context.now() - this.crashedAt)})`,
        );
      }
    }
  }

  /** Notes a crash (the moment it happens: calls wait on it) and returns the wait before the next start. */
  private crashed(): number {
    const now = this.context.now();
    this.readyFor = this.current === 'running' && this.readySince !== undefined ? now - this.readySince : undefined;
    this.to('crashed');
    this.crashedAt = now;
    this.readySince = undefined;
    return this.backoff.nextDelay(this.readyFor ?? 0);
  }

  /** The crash's log line, once its last output has been read. */
  private reportCrash(status: ExitStatus, proc: WatchedProcess | undefined, delay: number): void {
    const how = proc ? describeExit(status) : 'it could not be started';
    const after = this.readyFor !== undefined ? `after ${seconds(this.readyFor)} ready` : 'before it was ready';
    this.context.say(
      `${this.name} crashed (${how}) ${after}; restarting it in ${seconds(delay)} ` +
        `(crash ${this.backoff.inARow} in a row).${proc ? lastLines(proc) : ''}`,
      'stderr',
    );
  }

  /**
   * A crashed process's own children (Kamailio's workers) would hold its ports: they go with it. Then
   * its last output is read (the pipes close with the group).
   */
  private async killLeftovers(proc: WatchedProcess): Promise<void> {
    proc.killGroup();
    const deadline = this.context.now() + LEFTOVER_WAIT_MS;
    while (!proc.groupGone() && this.context.now() < deadline && !this.isStopping) {
      await this.context.sleep(20, this.stopRequested.signal);
    }
    await proc.exited;
  }

  private respawn(): WatchedProcess | undefined {
    try {
      return this.spawn();
    } catch (err) {
      if (!this.isStopping)
        this.context.say(
          `${this.name} could not be started: ${err instanceof Error ? err.message : String(err)}`,
          'stderr',
        );
      this.proc = undefined;
      return undefined;
    }
  }

  /**
   * True once ready; false when it exited first or the launcher stops. Past the start timeout it says
   * so and keeps waiting, as Compose does: a sip app waiting for a crashed Kamailio is better left be.
   */
  private async waitUntilReady(proc: WatchedProcess): Promise<boolean> {
    let timeoutMs = this.service.startTimeoutMs;
    for (;;) {
      try {
        await waitUntilHealthy(proc, () => this.service.healthy(), timeoutMs);
        return true;
      } catch (err) {
        if (this.isStopping || !proc.running) return false;
        if (timeoutMs === Infinity) throw err;
        this.context.say(
          `${this.name} is not ready ${seconds(timeoutMs)} after its restart; still waiting for it`,
          'stderr',
        );
        timeoutMs = Infinity;
      }
    }
  }
}
