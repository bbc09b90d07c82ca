import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { LauncherRun, isGone, isGroupGone, processesWithEnv } from '../../helpers/launcher.js';

const READY = /Press Ctrl-C to stop\./;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-launch-'));
const varDir = path.join(tmp, 'var');
const loginsFile = path.join(varDir, 'demo-logins.txt');
const port = await freePort();
let redisPort = await freePort();
while (redisPort === port) redisPort = await freePort();
const runs: LauncherRun[] = [];

function launch(overrides: NodeJS.ProcessEnv = {}): LauncherRun {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DESKLINE_VAR_DIR: varDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_PORT: String(redisPort),
    LOG_LEVEL: 'info',
    ...overrides,
  };
  delete env['REDIS_URL'];
  const run = new LauncherRun(env);
  runs.push(run);
  return run;
}

interface Login {
  role: string;
  email: string;
  password: string;
}

function loginsInFile(): Login[] {
  const text = readFileSync(loginsFile, 'utf8');
  return [...text.matchAll(/^(manager|employee)\s+(\S+@\S+)\s+(\S+)/gm)].map((m) => ({ role: m[1] ?? '', email: m[2] ?? '', password: m[3] ?? '' }));
}

function assertAllGone(run: LauncherRun): void {
  const pids = run.childPids();
  for (const [name, pid] of pids) {
    assert.ok(isGone(pid), `${name} (pid ${pid}) is still there`);
    assert.ok(isGroupGone(pid), `a process of ${name}'s group (${pid}) is still there`);
  }
  assert.equal(processesWithEnv('DESKLINE_VAR_DIR', varDir), [], 'no process of this test is left');
}

async function occupy(p: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', resolve);
  });
  return server;
}

let first: LauncherRun;

/** The printed demo employee can log in, and that session answers /api/me. */
async function assertEmployeeLogsIn(logins: Login[]): Promise<void> {
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

test('on first start it becomes ready, prints the URL and the demo logins, and serves /api/health', async () => {
  first = launch();
  await first.waitForOutput(READY, READY_TIMEOUT_MS);
  assert.ok(first.output.includes(`Deskline is ready: http://127.0.0.1:${port}`), first.output);
  assert.ok(first.output.includes('created the demo users'));

  assert.is(statSync(loginsFile).mode & 0o777, 0o600);
  const logins = loginsInFile();
  assert.equal(logins.map((l) => l.role).sort(), ['employee', 'employee', 'manager']);
  for (const login of logins) {
    assert.ok(first.output.includes(login.email), `the output shows ${login.email}`);
    assert.ok(first.output.includes(login.password), `the output shows the password of ${login.email}`);
  }

  const res = await fetch(`http://127.0.0.1:${port}/api/health`);
  assert.is(res.status, 200);
  assert.equal(await res.json(), { status: 'ok', redis: 'ok' });
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.is(page.status, 200);
  assert.match(await page.text(), /<dl-app>/, 'the login page is served');
  await assertEmployeeLogsIn(logins);

  // Proves that the check for left-over processes below can see one.
  assert.ok(processesWithEnv('DESKLINE_VAR_DIR', varDir).includes(first.childPids().get('signaling') ?? 0));

  assert.match(first.output, /^redis {5}\| .*Ready to accept connections/m);
  assert.match(first.output, /^signaling \| \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /m);
  assert.not.match(first.output, /^signaling \| \{/m, 'pino JSON is shown in human form');
});

test('SIGTERM stops signaling, then redis, exits 0 and leaves no process behind', async () => {
  const pids = first.childPids();
  assert.equal([...pids.keys()].sort(), ['redis', 'seed-demo', 'signaling']);
  first.signal('SIGTERM');
  const status = await first.waitForExit(STOP_TIMEOUT_MS);
  assert.equal(status, { code: 0, signal: null }, first.output);
  const stopSignaling = first.output.indexOf('stopping signaling');
  const stopRedis = first.output.indexOf('stopping redis');
  assert.ok(stopSignaling >= 0 && stopRedis > stopSignaling, 'signaling is stopped before redis');
  assertAllGone(first);
});

test('a second start keeps the demo users and shows the same logins', async () => {
  const before = readFileSync(loginsFile, 'utf8');
  const mtime = statSync(loginsFile).mtimeMs;
  const run = launch();
  await run.waitForOutput(READY, READY_TIMEOUT_MS);
  assert.not.ok(run.output.includes('created the demo users'));
  assert.is(readFileSync(loginsFile, 'utf8'), before);
  assert.is(statSync(loginsFile).mtimeMs, mtime);
  for (const login of loginsInFile()) assert.ok(run.output.includes(login.password), `the output shows the password of ${login.email}`);
  // The users outlived the restart: Redis kept them in var/ (AOF).
  await assertEmployeeLogsIn(loginsInFile());

  run.signal('SIGTERM');
  assert.equal(await run.waitForExit(STOP_TIMEOUT_MS), { code: 0, signal: null }, run.output);
  assertAllGone(run);
});

for (const [envName, what] of [['PORT', 'signaling'], ['REDIS_PORT', 'redis']] as const) {
  test(`a taken ${envName} stops the start with the port and the variable to change`, async () => {
    const taken = envName === 'PORT' ? port : redisPort;
    const blocker = await occupy(taken);
    try {
      const run = launch();
      const status = await run.waitForExit(STOP_TIMEOUT_MS);
      assert.is.not(status.code, 0);
      assert.match(run.output, `${what}: port ${taken} on 127.0.0.1 is already in use`);
      assert.match(run.output, `${envName}=<port>`);
      assert.is(run.childPids().size, 0, 'nothing was started');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
}

test('a missing redis-server stops the start with the install hint', async () => {
  const emptyBin = path.join(tmp, 'empty-bin');
  mkdirSync(emptyBin, { recursive: true });
  const run = launch({ PATH: emptyBin });
  const status = await run.waitForExit(STOP_TIMEOUT_MS);
  assert.is.not(status.code, 0);
  assert.match(run.output, 'the program "redis-server" was not found');
  assert.match(run.output, 'apt-get install redis-server');
  assertAllGone(run);
});

test('when signaling fails to start, redis is stopped and the exit is non-zero with the reason', async () => {
  const run = launch({ LOG_LEVEL: 'loud' });
  const status = await run.waitForExit(READY_TIMEOUT_MS);
  assert.is(status.code, 1, run.output);
  assert.match(run.output, /signaling exited during start \(exit code 1\)/);
  assert.match(run.output, 'LOG_LEVEL');
  assert.ok(run.childPids().has('redis'));
  assertAllGone(run);
});

test('when signaling dies after start, the launcher says so, stops redis and exits non-zero', async () => {
  const run = launch();
  await run.waitForOutput(READY, READY_TIMEOUT_MS);
  process.kill(run.childPids().get('signaling') ?? 0, 'SIGKILL');
  const status = await run.waitForExit(STOP_TIMEOUT_MS);
  assert.is(status.code, 1, run.output);
  assert.match(run.output, 'signaling exited unexpectedly (killed by SIGKILL)');
  assertAllGone(run);
});

test('a second SIGINT kills at once, and still leaves no process behind', async () => {
  const run = launch();
  await run.waitForOutput(READY, READY_TIMEOUT_MS);
  // A frozen signaling cannot answer the first SIGINT's SIGTERM, so the stop is still in progress.
  process.kill(run.childPids().get('signaling') ?? 0, 'SIGSTOP');
  run.signal('SIGINT');
  await run.waitForOutput(/stopping signaling/, STOP_TIMEOUT_MS);
  run.signal('SIGINT');
  // Far less than the launcher's grace period, so only the kill can end it this soon.
  const status = await run.waitForExit(5_000);
  assert.equal(status, { code: 130, signal: null }, run.output);
  assertAllGone(run);
});

test.after(() => {
  for (const run of runs) run.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
