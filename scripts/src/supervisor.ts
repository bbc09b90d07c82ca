import { constants } from 'node:os';
import { assertPortFree, type Protocol } from './free-port.js';
import type { PrefixedOutput } from './log-format.js';
import { ManagedProcess, describeExit, lastLines, waitUntilHealthy, type ExitStatus, type ProcessSpec } from './managed-process.js';

/** The name the launcher's own messages carry. */
export const LAUNCHER = 'launcher';

export interface PortRequirement {
  host: string;
  port: number;
  /** The variable that changes this port, named in the message when it is taken. */
  envName: string;
  /** 'tcp' unless given. */
  protocol?: Protocol;
}

/**
 * One long-running process of Deskline. The launcher starts these in list order, and stops them in
 * the reverse order; adding a service means adding one of these to the list.
 */
export interface ServiceDefinition {
  name: string;
  /** Checked before anything starts, so a taken port fails fast with the variable to change. */
  ports: readonly PortRequirement[];
  /** Creates what the service needs on disk and says how to run it; called just before it starts. */
  prepare(): Omit<ProcessSpec, 'name' | 'onLine'>;
  /** True once the service serves; polled until then. */
  healthy(): Promise<boolean>;
  startTimeoutMs: number;
}

/** signaling closes within 10 s on its own; this is a little longer. */
const STOP_GRACE_MS = 12_000;
/** After SIGKILL a process is gone at once; this only bounds a process stuck in the kernel. */
const KILL_WAIT_MS = 2_000;

function cleanStop(status: ExitStatus): boolean {
  return status.code === 0 || status.signal === 'SIGTERM';
}

class StoppingError extends Error {}

/**
 * Owns every child of the launcher: starts services and one-shot tasks, notices a child that dies,
 * and stops them all in reverse start order on every way out.
 */
export class Supervisor {
  private readonly started: ManagedProcess[] = [];
  private stopping: Promise<never> | undefined;
  private killing: Promise<never> | undefined;

  constructor(
    private readonly out: PrefixedOutput,
    private readonly exit: (code: number) => never = (code) => process.exit(code),
  ) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Fails with a message naming the variable to change when any service's port is taken. */
  async checkPorts(services: readonly ServiceDefinition[]): Promise<void> {
    for (const service of services) {
      for (const p of service.ports) await assertPortFree(p.host, p.port, service.name, p.envName, p.protocol);
    }
  }

  /** Starts a service and resolves once it is healthy; from then on its exit stops everything. */
  async start(service: ServiceDefinition): Promise<void> {
    const proc = this.spawn({ name: service.name, ...service.prepare() });
    await waitUntilHealthy(proc, () => service.healthy(), service.startTimeoutMs);
    this.out.say(LAUNCHER, `${service.name} is ready`);
    void proc.exited.then((status) => this.onServiceExit(proc, status));
  }

  /** Runs a command to completion (stopping it too if the launcher stops), and fails unless it exits 0. */
  async run(spec: ProcessSpec, timeoutMs: number): Promise<void> {
    const proc = this.spawn(spec);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void proc.stop(STOP_GRACE_MS);
    }, timeoutMs);
    const status = await proc.exited.finally(() => clearTimeout(timer));
    // A command that finished is reported as such even while stopping: its result may be worth keeping.
    if (status.code === 0 && !timedOut) return;
    if (this.stopping) throw new StoppingError();
    if (timedOut) throw new Error(`${spec.name} did not finish within ${timeoutMs} ms.${lastLines(proc)}`);
    throw new Error(`${spec.name} failed (${describeExit(status)}).${lastLines(proc)}`);
  }

  /** First signal: stop in order. Second: kill at once. */
  onSignal(signal: NodeJS.Signals): void {
    if (!this.stopping) {
      this.out.say(LAUNCHER, `${signal} received: stopping (press Ctrl-C again to kill at once)`);
      void this.shutdown(0);
    } else {
      this.out.say(LAUNCHER, `${signal} received again: killing everything now`, 'stderr');
      this.killing ??= this.killAll(128 + (constants.signals[signal] ?? 1));
    }
  }

  /** Stops every child, last started first, then exits; `code` 0 becomes 1 if a child does not stop cleanly. */
  shutdown(code: number): Promise<never> {
    this.stopping ??= this.stopAll(code);
    return this.stopping;
  }

  /** For a failure during start: reports it, unless it only happened because we are already stopping. */
  async fail(err: unknown): Promise<never> {
    if (!this.stopping && !(err instanceof StoppingError)) {
      this.out.say(LAUNCHER, err instanceof Error ? err.message : String(err), 'stderr');
    }
    return this.shutdown(1);
  }

  /** Last resort from the process's 'exit' event, which cannot wait: SIGKILL to every group still running. */
  killAllNow(): void {
    for (const proc of this.started) proc.killNow();
  }

  private spawn(spec: ProcessSpec): ManagedProcess {
    // Checked after every await of the start sequence, so a signal during start spawns nothing new.
    if (this.stopping) throw new StoppingError();
    const proc = ManagedProcess.start({
      onLine: (line, stream) => this.out.child(spec.name, line, stream),
      ...spec,
    });
    this.started.push(proc);
    this.out.say(LAUNCHER, `started ${spec.name} (pid ${proc.pid ?? 'unknown'})`);
    return proc;
  }

  private onServiceExit(proc: ManagedProcess, status: ExitStatus): void {
    if (this.stopping) return;
    this.out.say(LAUNCHER, `${proc.name} exited unexpectedly (${describeExit(status)}); stopping the others.${lastLines(proc)}`, 'stderr');
    void this.shutdown(1);
  }

  private lastRunning(): ManagedProcess | undefined {
    return this.started.findLast((proc) => proc.running);
  }

  private async stopAll(code: number): Promise<never> {
    let exitCode = code;
    for (let proc = this.lastRunning(); proc; proc = this.lastRunning()) {
      this.out.say(LAUNCHER, `stopping ${proc.name}`);
      const status = await proc.stop(STOP_GRACE_MS);
      // A second signal took over: it decides the exit code.
      if (this.killing) return this.killing;
      if (!cleanStop(status)) {
        this.out.say(LAUNCHER, `${proc.name} did not stop cleanly (${describeExit(status)})`, 'stderr');
        exitCode ||= 1;
      }
    }
    if (exitCode === 0) this.out.say(LAUNCHER, 'stopped');
    return this.exit(exitCode);
  }

  private async killAll(code: number): Promise<never> {
    const running = this.started.filter((proc) => proc.running);
    for (const proc of running) proc.killNow();
    // Reap them before leaving, so that none is left as a zombie under an init that does not reap.
    await Promise.race([
      Promise.all(running.map((proc) => proc.exited)),
      new Promise((resolve) => setTimeout(resolve, KILL_WAIT_MS)),
    ]);
    return this.exit(code);
  }
}
