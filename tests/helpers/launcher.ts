/**
 * Runs the real compiled launcher (`node scripts/dist/launch.js`) as `npm start` would, and lets a test
 * wait for what it prints and for its exit, with bounded timeouts. launcherPorts() and launcherEnv()
 * give it free ports and its own var/ folder; childPids() and waitForRestart() follow its children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { ephemeralCredentials, register } from './sip-register.js';
import { SipWsEndpoint } from './sip-ws.js';
import { waitFor } from './wait.js';

/** tests/dist/helpers/ is three levels below the repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LAUNCHER_SCRIPT = path.join(REPO_ROOT, 'scripts/dist/launch.js');

/** What the launcher prints once everything runs and the demo logins are shown. */
export const LAUNCHER_READY = /Press Ctrl-C to stop\./;

/** The ports a launcher needs, each free and distinct. */
export interface LauncherPorts {
  port: number;
  redisPort: number;
  sipPort: number;
  sipWsPort: number;
  ngPort: number;
  /** RTPENGINE_DTMF_PORT (UDP). */
  dtmfPort: number;
  sipAppPort: number;
  sipAppHealthPort: number;
  /** RTPENGINE_PORT_MIN; the range holds 100 ports. */
  mediaPortMin: number;
}

/** Free ports for one launcher; SIP_PORT and RTPENGINE_NG_PORT are free for UDP too. */
export async function launcherPorts(): Promise<LauncherPorts> {
  const taken = new Set<number>();
  const distinct = async (protocols: ('tcp' | 'udp')[] = ['tcp']): Promise<number> => {
    for (;;) {
      const p = await freePort('127.0.0.1', protocols);
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  return {
    port: await distinct(),
    redisPort: await distinct(),
    sipPort: await distinct(['tcp', 'udp']),
    sipWsPort: await distinct(),
    ngPort: await distinct(['tcp', 'udp']),
    dtmfPort: await distinct(['udp']),
    sipAppPort: await distinct(),
    sipAppHealthPort: await distinct(),
    mediaPortMin: 40000 + 2 * Math.floor(Math.random() * 9000),
  };
}

/**
 * The environment of a launcher on these ports with its data in `varDir` (demo data is created there
 * at the first start): this process's environment without REDIS_URL, so the launcher runs its own
 * Redis, and without SIP_EPHEMERAL_SECRET unless `overrides` gives one.
 */
export function launcherEnv(
  ports: LauncherPorts,
  varDir: string,
  overrides: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DESKLINE_VAR_DIR: varDir,
    HOST: '127.0.0.1',
    PORT: String(ports.port),
    REDIS_PORT: String(ports.redisPort),
    SIP_PORT: String(ports.sipPort),
    SIP_WS_PORT: String(ports.sipWsPort),
    RTPENGINE_NG_PORT: String(ports.ngPort),
    RTPENGINE_DTMF_PORT: String(ports.dtmfPort),
    SIP_APP_PORT: String(ports.sipAppPort),
    SIP_APP_HEALTH_PORT: String(ports.sipAppHealthPort),
    RTPENGINE_PORT_MIN: String(ports.mediaPortMin),
    RTPENGINE_PORT_MAX: String(ports.mediaPortMin + 99),
    LOG_LEVEL: 'info',
    ...overrides,
  };
  delete env['REDIS_URL'];
  if (!('SIP_EPHEMERAL_SECRET' in overrides)) delete env['SIP_EPHEMERAL_SECRET'];
  return env;
}

export interface DemoLogin {
  role: string;
  email: string;
  password: string;
}

/** The demo logins the launcher wrote into `varDir`/demo-logins.txt at its first start. */
export function demoLogins(varDir: string): DemoLogin[] {
  const text = readFileSync(path.join(varDir, 'demo-logins.txt'), 'utf8');
  return [...text.matchAll(/^(manager|employee)\s+(\S+@\S+)\s+(\S+)/gm)].map((m) => ({
    role: m[1] ?? '',
    email: m[2] ?? '',
    password: m[3] ?? '',
  }));
}

/** The password of the Redis the launcher runs, generated into `varDir` at its first start. */
export function launcherRedisPassword(varDir: string): string {
  return readFileSync(path.join(varDir, 'secrets', 'redis-password'), 'utf8').trim();
}

/** The first demo employee logs in at signaling on `port`, and that session answers /api/me. */
export async function assertEmployeeLogsIn(port: number, logins: readonly DemoLogin[]): Promise<void> {
  const employee = logins.find((l) => l.role === 'employee');
  assert.ok(employee, 'a demo employee is listed');
  const response = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: employee.email, password: employee.password }),
  });
  assert.is(response.status, 200, await response.clone().text());
  const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
  const me = await fetch(`http://127.0.0.1:${port}/api/me`, { headers: { cookie } });
  assert.is(me.status, 200);
  assert.is(((await me.json()) as { user: { email: string } }).user.email, employee.email);
}

/**
 * A browser's phone (SIP user `user`, credentials made from the launcher's SIP secret and allowed in
 * Redis as signaling would) registers at the launcher's Kamailio, which writes it into Redis.
 */
export async function assertBrowserRegisters(ports: LauncherPorts, varDir: string, user: string): Promise<void> {
  const secret = readFileSync(path.join(varDir, 'secrets', 'sip-ephemeral-secret'), 'utf8').trim();
  const credentials = ephemeralCredentials(secret, user, Math.floor(Date.now() / 1000) + 600);
  const redis = new Redis({
    host: '127.0.0.1',
    port: ports.redisPort,
    password: launcherRedisPassword(varDir),
    lazyConnect: true,
  });
  const browser = await SipWsEndpoint.connect(`ws://127.0.0.1:${ports.sipWsPort}`);
  try {
    await redis.connect();
    await redis.sadd(RedisKeys.sipAuth(user), credentials.username);
    const { response } = await register(browser, {
      user,
      domain: 'deskline.local',
      ...credentials,
      contact: browser.contact(user),
      expires: 60,
    });
    assert.is(response.status, 200, response.raw);
    await waitFor(
      'Kamailio to write the registration into Redis',
      async () => (await redis.exists(RedisKeys.sipRegistration(user))) === 1,
      5_000,
    );
  } finally {
    redis.disconnect();
    await browser.close();
  }
}

/**
 * After the launcher exited: no process it ever started (restarted ones too) is left, nor anything in
 * their process groups, nor any process with its DESKLINE_VAR_DIR.
 */
export async function assertNoneLeft(run: LauncherRun, varDir: string): Promise<void> {
  for (const [name, pids] of run.allChildPids()) {
    for (const pid of pids) {
      assert.ok(isGone(pid), `${name} (pid ${pid}) is still there`);
      // A killed Kamailio's workers are its grandchildren: killed with its group, but reaped by init a
      // moment after the launcher has exited.
      await waitFor(`the end of ${name}'s process group (${pid})`, () => isGroupGone(pid), 5_000).catch(() =>
        assert.unreachable(`a process of ${name}'s group (${pid}) is still there`),
      );
    }
  }
  assert.equal(processesWithEnv('DESKLINE_VAR_DIR', varDir), [], 'no process of this test is left');
}

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

  /** Pids of the processes it started, from its "started NAME (pid N)" lines: the latest of each name. */
  childPids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const [name, all] of this.allChildPids()) pids.set(name, all.at(-1) ?? 0);
    return pids;
  }

  /** Every pid each name had, in order: more than one for a service that was restarted. */
  allChildPids(): Map<string, number[]> {
    const pids = new Map<string, number[]>();
    for (const m of this.output.matchAll(/started (\S+) \(pid (\d+)\)/g)) {
      const name = m[1] ?? '';
      pids.set(name, [...(pids.get(name) ?? []), Number(m[2])]);
    }
    return pids;
  }

  /**
   * After a crash of `name` (whose pid was `oldPid`): resolves with its new pid once the launcher says
   * it is ready again.
   */
  async waitForRestart(name: string, oldPid: number, timeoutMs: number): Promise<number> {
    const ready = new RegExp(`launcher +\\| ${name} is ready again \\(pid (\\d+)`, 'g');
    const found = await this.waitFor(
      () => [...this.output.matchAll(ready)].map((m) => Number(m[1])).find((pid) => pid !== oldPid),
      `${name} to be ready again after pid ${oldPid}`,
      timeoutMs,
      true,
    );
    return found;
  }

  /** For cleanup after a failed test: kills the launcher and the process group of each of its children. */
  killAll(): void {
    if (this.running) this.child.kill('SIGKILL');
    for (const pid of [...this.allChildPids().values()].flat()) {
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
      const timer = setTimeout(
        () => finish(() => reject(this.failure(`timed out after ${timeoutMs} ms waiting for ${what}`))),
        timeoutMs,
      );
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

/** A launcher of a test's own: its ports, its var/ folder (with the demo data) and its run. */
export interface OwnLauncher {
  run: LauncherRun;
  ports: LauncherPorts;
  varDir: string;
  /** Kills whatever is left (after a failure) and deletes its folder. */
  cleanUp(): void;
}

/**
 * Starts a launcher on free ports with a new temporary var/ folder, as `npm start` runs it (the first
 * start creates the demo users there), and resolves once it is ready. `run.childPids()` then gives
 * each service's pid, `run.waitForRestart()` the next one after a crash.
 */
export async function startOwnLauncher(
  overrides: NodeJS.ProcessEnv = {},
  readyTimeoutMs = 90_000,
): Promise<OwnLauncher> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-launcher-'));
  const varDir = path.join(tmp, 'var');
  const ports = await launcherPorts();
  const run = new LauncherRun(launcherEnv(ports, varDir, overrides));
  const cleanUp = (): void => {
    run.killAll();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await run.waitForOutput(LAUNCHER_READY, readyTimeoutMs);
  } catch (err) {
    cleanUp();
    throw err;
  }
  return { run, ports, varDir, cleanUp };
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
