import { constants } from 'node:os';
import { assertPortFree, type Protocol } from './free-port.js';
import type { PrefixedOutput } from './log-format.js';
import { ManagedProcess, describeExit, lastLines, type ExitStatus, type ProcessSpec } from './managed-process.js';
import { ServiceRunner, realSleep, type RunnableService, type RunnerContext } from './service-runner.js';

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
 * One long-running process of Deskline. The launcher starts these in list order, restarts one that
 * crashes (ServiceRunner), and stops them in the reverse order; adding a service means adding one of
 * these to the list.
 */
export interface ServiceDefinition extends RunnableService {
  name: string;
  /** Checked before anything starts, so a taken port fails fast with the variable to change. */
  ports: readonly PortRequirement[];
  /** Creates what the service needs on disk and says how to run it; called just before each start. */
  prepare(): Omit<ProcessSpec, 'name' | 'onLine'>;
  /** True once the service serves; polled until then, at its first start and after each restart. */
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
 * Owns every child of the launcher: starts services (each through its ServiceRunner, which restarts
 * it after a crash) and one-shot tasks, and stops them all in reverse start order on every way out.
 */
export class Supervisor {
  /** In start order. */
  private readonly services: ServiceRunner[] = [];
  private readonly tasks: ManagedProcess[] = [];
  private readonly context: RunnerContext;
  private stopping: Promise<never> | undefined;
  private killing: Promise<never> | undefined;

  constructor(
    private readonly out: PrefixedOutput,
    private readonly exit: (code: number) => never = (code) => process.exit(code),
  ) {
    this.context = {
      spawn: (spec) => this.spawn(spec),
      say: (message, stream) => this.out.say(LAUNCHER, message, stream),
      now: () => Date.now(),
      sleep: realSleep,
    };
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Fails with a message naming the variable to change when any service's port is taken. */
  async checkPorts(services: readonly ServiceDefinition[]): Promise<void> {
    for (const service of services) {
      for (const p of service.ports) await assertPortFree(p.host, p.port, service.name, p.envName, p.protocol);
    }
  }

  /**
   * Starts a service and resolves once it is healthy, or fails (the first start fails fast). From then
   * on, a crash of it is followed by a restart, while the others run on.
   */
  async start(service: ServiceDefinition): Promise<void> {
    if (this.stopping) throw new StoppingError();
    const runner = new ServiceRunner(service, this.context);
    this.services.push(runner);
    await runner.start();
    this.out.say(LAUNCHER, `${service.name} is ready`);
  }

  /** Runs a command to completion (stopping it too if the launcher stops), and fails unless it exits 0. */
  async run(spec: ProcessSpec, timeoutMs: number): Promise<void> {
    const proc = this.spawn(spec);
    this.tasks.push(proc);
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
    for (const proc of this.tasks) proc.killNow();
    for (const service of this.services) service.killNow();
  }

  private spawn(spec: ProcessSpec): ManagedProcess {
    // Checked after every await of the start sequence, so a signal during start spawns nothing new.
    if (this.stopping) throw new StoppingError();
    const proc = ManagedProcess.start({
      onLine: (line, stream) => this.out.child(spec.name, line, stream),
      ...spec,
    });
    this.out.say(LAUNCHER, `started ${spec.name} (pid ${proc.pid ?? 'unknown'})`);
    return proc;
  }

  /**
   * One-shot tasks first, then the services, last started first. A service waiting to be restarted is
   * not started again; one being restarted is stopped like the others.
   */
  private async stopAll(code: number): Promise<never> {
    let exitCode = code;
    // At once for all: a service whose restart wait ends while the ones after it stop stays down.
    for (const service of this.services) service.noMoreRestarts();
    const stops: { name: string; stop: () => Promise<ExitStatus | undefined> }[] = [
      ...this.tasks
        .filter((proc) => proc.running)
        .reverse()
        .map((proc) => ({
          name: proc.name,
          stop: () => {
            this.out.say(LAUNCHER, `stopping ${proc.name}`);
            return proc.stop(STOP_GRACE_MS);
          },
        })),
      // Each says what it does: "stopping NAME", or "not restarting NAME: stopping" during a restart's wait.
      ...[...this.services]
        .reverse()
        .map((service) => ({ name: service.name, stop: () => service.stop(STOP_GRACE_MS) })),
    ];
    for (const { name, stop } of stops) {
      const status = await stop();
      // A second signal took over: it decides the exit code.
      if (this.killing) return this.killing;
      if (status && !cleanStop(status)) {
        this.out.say(LAUNCHER, `${name} did not stop cleanly (${describeExit(status)})`, 'stderr');
        exitCode ||= 1;
      }
    }
    if (exitCode === 0) this.out.say(LAUNCHER, 'stopped');
    return this.exit(exitCode);
  }

  private async killAll(code: number): Promise<never> {
    for (const service of this.services) service.killNow();
    const running = [...this.tasks, ...this.services.flatMap((service) => service.process ?? [])].filter(
      (proc) => proc.running,
    );
    for (const proc of running) proc.killNow();
    // Reap them before leaving, so that none is left as a zombie under an init that does not reap.
    await Promise.race([
      Promise.all(running.map((proc) => proc.exited)),
      new Promise((resolve) => setTimeout(resolve, KILL_WAIT_MS)),
    ]);
    return this.exit(code);
  }
}
