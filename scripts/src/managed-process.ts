import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export interface ProcessSpec {
  /** Short name used as the log prefix, e.g. "redis". */
  name: string;
  /** Executable name (looked up in PATH) or path. */
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Told to the user when the executable is missing, e.g. "apt-get install redis-server". */
  installHint?: string;
  /** Receives every line the process writes to stdout or stderr. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Finds an executable the way a shell would, or returns undefined. */
export function findExecutable(command: string, envPath = process.env['PATH'] ?? ''): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : envPath
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

/** What the launcher needs of a running child; ManagedProcess is one, a unit test's fake another. */
export interface WatchedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves once it has exited and its output has been read (or a grandchild holds the pipes for 1 s). */
  readonly exited: Promise<ExitStatus>;
  /** Resolves the moment it has exited. */
  readonly died: Promise<ExitStatus>;
  readonly recentLines: readonly string[];
  stop(graceMs?: number): Promise<ExitStatus>;
  killNow(): void;
  killGroup(): void;
  groupGone(): boolean;
}

const RECENT_LINES = 30;
const OUTPUT_DRAIN_MS = 1000;

/**
 * One child process that we own: started in its own process group so that signals reach it only
 * through us (in order), its output delivered line by line, and its exit observable as a promise.
 */
export class ManagedProcess implements WatchedProcess {
  readonly name: string;
  readonly exited: Promise<ExitStatus>;
  readonly died: Promise<ExitStatus>;
  /** The last lines it printed, to explain a failure. */
  readonly recentLines: string[] = [];
  private readonly child: ChildProcess;
  private exitStatus: ExitStatus | undefined;

  private constructor(spec: ProcessSpec, executable: string) {
    this.name = spec.name;
    this.child = spawn(executable, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const outputs: Promise<void>[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = this.child[stream];
      if (!source) continue;
      const lines = readline.createInterface({ input: source });
      outputs.push(new Promise((resolve) => lines.once('close', resolve)));
      lines.on('line', (line) => {
        this.recentLines.push(line);
        if (this.recentLines.length > RECENT_LINES) this.recentLines.shift();
        spec.onLine?.(line, stream);
      });
    }
    const outputEnded = Promise.all(outputs);
    this.died = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      this.child.once('error', () => resolve({ code: 127, signal: null }));
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const status = { code, signal };
        this.exitStatus = status;
        // 'exit' can come before the last output has been read, and that output is often the reason
        // it exited. Wait for it, but not for a grandchild that keeps the pipes open.
        const timer = setTimeout(() => resolve(status), OUTPUT_DRAIN_MS);
        void outputEnded.then(() => {
          clearTimeout(timer);
          resolve(status);
        });
      });
      this.child.once('error', () => {
        this.exitStatus ??= { code: 127, signal: null };
        resolve(this.exitStatus);
      });
    });
  }

  /** Starts the process, or throws a clear error when its executable is missing. */
  static start(spec: ProcessSpec): ManagedProcess {
    const executable = findExecutable(spec.command, spec.env?.['PATH'] ?? process.env['PATH']);
    if (!executable) {
      const hint = spec.installHint ? ` Install it with: ${spec.installHint}` : '';
      throw new Error(`${spec.name}: the program "${spec.command}" was not found.${hint}`);
    }
    return new ManagedProcess(spec, executable);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Asks the process to stop, and kills it if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills without waiting; for the last moment of an exiting parent. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  /**
   * SIGKILL to the process group even after the process itself has exited: what it started (Kamailio's
   * workers) may still be in it, holding its ports.
   */
  killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // nobody left in the group
    }
  }

  /** True when no process (not even a zombie) is left in its process group. */
  groupGone(): boolean {
    if (this.child.pid === undefined) return true;
    try {
      process.kill(-this.child.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
}

/**
 * Polls `check` until it returns true. Fails when `timeoutMs` passes or the process exits first,
 * quoting the process's last lines so the reason is visible.
 */
export async function waitUntilHealthy(
  proc: WatchedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    if (!proc.running) {
      const status = await proc.exited;
      throw new Error(`${proc.name} exited during start (${describeExit(status)}).${lastLines(proc)}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`${proc.name} did not become healthy within ${timeoutMs} ms.${lastLines(proc)}`);
}

export function describeExit(status: ExitStatus): string {
  return status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
}

/** The process's last lines, indented, to append to a failure message. */
export function lastLines(proc: Pick<WatchedProcess, 'recentLines'>): string {
  return proc.recentLines.length ? `\nIts last output:\n  ${proc.recentLines.slice(-10).join('\n  ')}` : '';
}
