/**
 * Runs the real compiled launcher (`node scripts/dist/launch.js`) as `npm start` would, and lets a test
 * wait for what it prints and for its exit, with bounded timeouts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** tests/dist/helpers/ is three levels below the repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LAUNCHER_SCRIPT = path.join(REPO_ROOT, 'scripts/dist/launch.js');

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LauncherRun {
  /** Everything it wrote, stdout and stderr interleaved as they arrived. */
  output = '';
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private status: ExitStatus | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [LAUNCHER_SCRIPT], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output += chunk;
        this.notify();
      });
    }
    this.exited = new Promise((resolve) => {
      // 'close' rather than 'exit': by then all of its output has been read.
      this.child.once('close', (code, signal) => {
        this.status = { code, signal };
        this.notify();
        resolve(this.status);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the launcher did not start');
    return this.child.pid;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the first match of `pattern` in the output; fails on timeout or if the launcher exits first. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return this.waitFor(() => this.output.match(pattern) ?? undefined, `output matching ${pattern}`, timeoutMs, true);
  }

  /** Resolves with how the launcher exited; fails if it is still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ExitStatus> {
    return this.waitFor(() => this.status, 'the launcher to exit', timeoutMs, false);
  }

  /** Pids of the processes it started, from its "started NAME (pid N)" lines. */
  childPids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const m of this.output.matchAll(/started (\S+) \(pid (\d+)\)/g)) pids.set(m[1] ?? '', Number(m[2]));
    return pids;
  }

  /** For cleanup after a failed test: kills the launcher and the process group of each of its children. */
  killAll(): void {
    if (this.running) this.child.kill('SIGKILL');
    for (const pid of this.childPids().values()) {
      if (!isGone(pid)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  private waitFor<T>(probe: () => T | undefined, what: string, timeoutMs: number, failOnExit: boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value !== undefined) finish(() => resolve(value));
        else if (failOnExit && this.status) finish(() => reject(this.failure(`the launcher exited before ${what}`)));
      };
      const timer = setTimeout(() => finish(() => reject(this.failure(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  private failure(message: string): Error {
    const status = this.status ? ` (exit code ${this.status.code}, signal ${this.status.signal})` : '';
    return new Error(`${message}${status}. Its output:\n${this.output}`);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** True when no process (not even a zombie) has this pid. */
export function isGone(pid: number): boolean {
  return signalZeroFails(pid);
}

/** True when no process is left in the process group `pgid`. */
export function isGroupGone(pgid: number): boolean {
  return signalZeroFails(-pgid);
}

function signalZeroFails(target: number): boolean {
  try {
    process.kill(target, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Pids of the processes whose environment has `name=value`. Children inherit the launcher's
 * environment, so this finds processes that left their process group too. It cannot see
 * redis-server, which reuses its environment's memory for its process title; isGroupGone covers it.
 */
export function processesWithEnv(name: string, value: string): number[] {
  const wanted = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(wanted)) found.push(Number(entry));
    } catch {
      // it exited while we looked, or it is not ours to read
    }
  }
  return found;
}
