import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { findExecutable } from '@deskline/scripts/managed-process';
import { ngPing } from '@deskline/scripts/rtpengine-ng';
import { sipOptionsAnswered } from '@deskline/scripts/sip-options';
import {
  LAUNCHER_READY as READY,
  LauncherRun,
  REPO_ROOT,
  assertBrowserRegisters,
  assertEmployeeLogsIn as assertEmployeeLogsInAt,
  assertNoneLeft,
  demoLogins,
  launcherEnv,
  launcherPorts,
  processesWithEnv,
  type DemoLogin,
} from '../../helpers/launcher.js';
import { ephemeralCredentials, register } from '../../helpers/sip-register.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-launch-'));
const varDir = path.join(tmp, 'var');
const loginsFile = path.join(varDir, 'demo-logins.txt');
const secretFile = path.join(varDir, 'secrets', 'sip-ephemeral-secret');
const redisPasswordFile = path.join(varDir, 'secrets', 'redis-password');

const ports = await launcherPorts();
const { port, redisPort, sipPort, sipWsPort, ngPort, sipAppHealthPort } = ports;
const runs: LauncherRun[] = [];

function launch(overrides: NodeJS.ProcessEnv = {}): LauncherRun {
  const run = new LauncherRun(launcherEnv(ports, varDir, overrides));
  runs.push(run);
  return run;
}

const loginsInFile = (): DemoLogin[] => demoLogins(varDir);

const assertAllGone = (run: LauncherRun): Promise<void> => assertNoneLeft(run, varDir);

async function occupy(p: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<{ close(): Promise<void> }> {
  if (protocol === 'udp') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(p, '127.0.0.1', resolve);
    });
    return { close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
  }
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', resolve);
  });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let first: LauncherRun;

const assertEmployeeLogsIn = (logins: DemoLogin[]): Promise<void> => assertEmployeeLogsInAt(port, logins);

test('on first start it becomes ready, prints the URL and the demo logins, and serves /api/health', async () => {
  first = launch();
  await first.waitForOutput(READY, READY_TIMEOUT_MS);
  assert.ok(first.output.includes(`Deskline is ready: http://127.0.0.1:${port}`), first.output);
  assert.ok(first.output.includes('created the demo users'));
  // Which Node runs it, said once at the start (the one this test runs on: with-node.sh's), and the
  // Node services it starts run on that same binary.
  assert.match(
    first.output,
    new RegExp(
      `^launcher  \\| Node\\.js ${process.version.replace(/\./g, '\\.')} \\(${process.execPath.replace(/[.+]/g, '\\$&')}\\)$`,
      'm',
    ),
  );
  for (const name of ['sip', 'signaling']) {
    const pid = first.childPids().get(name);
    assert.ok(pid, `${name} was started`);
    assert.is(readlinkSync(`/proc/${pid}/exe`), realpathSync(process.execPath), `${name} runs on the launcher's Node`);
  }

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

test('rtpengine and Kamailio run with the generated SIP secret, which signaling gets too', async () => {
  assert.ok(await ngPing('127.0.0.1', ngPort), 'rtpengine answers ping');
  assert.ok(await sipOptionsAnswered('127.0.0.1', sipPort), 'Kamailio answers OPTIONS');
  const sipHealth = await fetch(`http://127.0.0.1:${sipAppHealthPort}/health`);
  assert.is(sipHealth.status, 200, 'the sip app is connected to Kamailio');
  assert.match(first.output, /^rtpengine \| /m);
  assert.match(first.output, /^kamailio {2}\| /m);

  assert.is(statSync(secretFile).mode & 0o777, 0o600);
  const secret = readFileSync(secretFile, 'utf8').trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.not.ok(first.output.includes(secret), 'the secret is not printed');
  const signalingPid = first.childPids().get('signaling') ?? 0;
  const signalingEnv = readFileSync(`/proc/${signalingPid}/environ`, 'utf8').split('\0');
  assert.ok(signalingEnv.includes(`SIP_EPHEMERAL_SECRET=${secret}`), 'signaling has the same secret');

  // Kamailio has it: a browser with credentials made from it registers.
  const browser = await SipWsEndpoint.connect(`ws://127.0.0.1:${sipWsPort}`);
  try {
    const credentials = ephemeralCredentials(secret, 'ws-launch', Math.floor(Date.now() / 1000) + 600);
    // As signaling does when it issues them to the workstation's holder.
    const redis = new Redis({
      host: '127.0.0.1',
      port: redisPort,
      password: readFileSync(redisPasswordFile, 'utf8').trim(),
    });
    await redis.sadd(RedisKeys.sipAuth('ws-launch'), credentials.username);
    redis.disconnect();
    const { response } = await register(browser, {
      user: 'ws-launch',
      domain: 'deskline.local',
      ...credentials,
      contact: browser.contact('ws-launch'),
      expires: 60,
    });
    assert.is(response.status, 200, response.raw);
  } finally {
    await browser.close();
  }
});

/** What an unauthenticated client gets from the launcher's Redis for one command, raw. */
function rawRedisReply(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: redisPort });
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('no reply from Redis')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.endsWith('\r\n')) {
        socket.destroy();
        resolve(reply.trim());
      }
    });
  });
}

/** The pids whose command line (any process on this machine) contains `text`. */
function commandLinesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

test("the launcher's Redis has a generated password: refused without it, known to every service, on no command line", async () => {
  assert.is(statSync(redisPasswordFile).mode & 0o777, 0o600);
  const password = readFileSync(redisPasswordFile, 'utf8').trim();
  assert.match(password, /^[0-9a-f]{64}$/);
  assert.not.ok(first.output.includes(password), 'the password is not printed');

  // An outsider on this machine (any local user can reach 127.0.0.1) gets nothing.
  assert.match(await rawRedisReply('PING'), /^-NOAUTH /);
  assert.match(await rawRedisReply('KEYS *'), /^-NOAUTH /);
  assert.match(await rawRedisReply('AUTH not-the-password'), /^-(WRONGPASS|ERR)/);

  // No process's command line carries it: redis-server has it from a config file only its owner reads.
  assert.equal(commandLinesWith(password), [], 'no command line holds the Redis password');
  const configFile = path.join(varDir, 'run', 'redis', 'redis.conf');
  assert.is(readFileSync(configFile, 'utf8'), `requirepass ${password}\n`);
  assert.is(statSync(configFile).mode & 0o777, 0o600, `${configFile} is readable by its owner only`);
  assert.is(statSync(path.dirname(configFile)).mode & 0o777, 0o700);
  // rtpengine keeps its calls there (RTPENGINE_REDIS_DB), told the password in a file of its own.
  const rtpengineConf = path.join(varDir, 'run', 'rtpengine', 'rtpengine.conf');
  assert.match(
    readFileSync(rtpengineConf, 'utf8'),
    new RegExp(`\\nredis = ${password}@127\\.0\\.0\\.1:${redisPort}/1\\n`),
  );
  assert.is(statSync(rtpengineConf).mode & 0o777, 0o600);
  assert.match(
    first.output,
    new RegExp(`^rtpengine \\| .*Connected to Redis 127\\.0\\.0\\.1:${redisPort} in master mode`, 'm'),
  );
  for (const name of ['signaling', 'sip']) {
    const env = readFileSync(`/proc/${first.childPids().get(name) ?? 0}/environ`, 'utf8').split('\0');
    assert.ok(
      env.includes(`REDIS_URL=redis://:${password}@127.0.0.1:${redisPort}`),
      `${name} has the password in its environment`,
    );
  }

  // Kamailio's ndb_redis authenticates: a browser's REGISTER lands in Redis.
  await assertBrowserRegisters(ports, varDir, 'ws-redis-auth');

  // The command-line tool, run as the README prints it, finds the password by itself.
  const cli = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'deskline', '--', 'user', 'list'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env['PATH'],
          HOME: process.env['HOME'],
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          DESKLINE_VAR_DIR: varDir,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
  assert.is(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /manager/);
});

test("the demo desk phone's SIP account is in the logins file, with the baresip command, and Kamailio accepts it", async () => {
  const text = readFileSync(loginsFile, 'utf8');
  const account = /^Desk phone "Desk phone 201": SIP user 201, password (\S+), domain deskline\.local,$/m.exec(text);
  assert.ok(account?.[1], text);
  const password = account[1].replace(/,$/, '');
  assert.match(text, `registrar 127.0.0.1:${sipPort} (UDP or TCP)`);
  assert.ok(
    text.includes(
      `baresip -f pbx-config/test-clients/baresip-desk-phone -e '/uanew <sip:201@deskline.local>;auth_pass=${password};outbound="sip:127.0.0.1:${sipPort}";answermode=auto;regint=300'`,
    ),
    text,
  );
  assert.ok(first.output.includes(password), 'the ready message shows it too');

  const phone = await SipUdpEndpoint.open('127.0.0.1', sipPort);
  try {
    const contact = `sip:201@127.0.0.1:${phone.localPort}`;
    const options = { user: '201', domain: 'deskline.local', username: '201', contact, expires: 60 };
    assert.is(
      (await register(phone, { ...options, password: 'not-the-password' })).response.status,
      401,
      'a wrong password is challenged again',
    );
    const { response } = await register(phone, { ...options, password });
    assert.is(response.status, 200, response.raw);
    assert.is((await register(phone, { ...options, password, expires: 0 })).response.status, 200, 'unregistered');
  } finally {
    await phone.close();
  }
});

test('SIGTERM stops signaling, sip, kamailio, rtpengine, then redis, exits 0 and leaves no process behind', async () => {
  const pids = first.childPids();
  assert.equal([...pids.keys()].sort(), ['kamailio', 'redis', 'rtpengine', 'seed-demo', 'signaling', 'sip']);
  const started = ['redis', 'rtpengine', 'kamailio', 'sip', 'signaling'].map((name) =>
    first.output.indexOf(`started ${name} `),
  );
  assert.equal(
    started,
    [...started].sort((a, b) => a - b),
    'started in the order redis, rtpengine, kamailio, sip, signaling',
  );
  // A patient on the line: Ctrl-C stops rtpengine too, so the sip app hangs up (SIP_END_CALLS_ON_STOP)
  // rather than leave the call to an instance that will never come.
  const line = await PatientLine.open(sipPort);
  const phone = await PatientPhone.open();
  try {
    const dialog = await line.call({ line: '100', rtpPort: phone.port });
    const bye = dialog.waitForBye(STOP_TIMEOUT_MS);
    first.signal('SIGTERM');
    await bye;
    const status = await first.waitForExit(STOP_TIMEOUT_MS);
    assert.equal(status, { code: 0, signal: null }, first.output);
  } finally {
    phone.close();
    await line.close();
  }
  const stops = ['signaling', 'sip', 'kamailio', 'rtpengine', 'redis'].map((name) =>
    first.output.indexOf(`stopping ${name}`),
  );
  assert.ok(
    stops.every((at) => at >= 0),
    first.output,
  );
  assert.equal(
    stops,
    [...stops].sort((a, b) => a - b),
    'stopped in reverse start order',
  );
  await assertAllGone(first);
});

test('a second start keeps the demo users and shows the same logins', async () => {
  const before = readFileSync(loginsFile, 'utf8');
  const mtime = statSync(loginsFile).mtimeMs;
  const run = launch();
  await run.waitForOutput(READY, READY_TIMEOUT_MS);
  assert.not.ok(run.output.includes('created the demo users'));
  assert.is(readFileSync(loginsFile, 'utf8'), before);
  assert.is(statSync(loginsFile).mtimeMs, mtime);
  for (const login of loginsInFile())
    assert.ok(run.output.includes(login.password), `the output shows the password of ${login.email}`);
  // The users outlived the restart: Redis kept them in var/ (AOF).
  await assertEmployeeLogsIn(loginsInFile());
  // The SIP secret did too: browsers' credentials stay valid across a restart.
  const signalingEnv = readFileSync(`/proc/${run.childPids().get('signaling') ?? 0}/environ`, 'utf8').split('\0');
  assert.ok(signalingEnv.includes(`SIP_EPHEMERAL_SECRET=${readFileSync(secretFile, 'utf8').trim()}`));

  run.signal('SIGTERM');
  assert.equal(await run.waitForExit(STOP_TIMEOUT_MS), { code: 0, signal: null }, run.output);
  await assertAllGone(run);
});

const PORT_CASES = [
  { envName: 'PORT', what: 'signaling', port, protocol: 'tcp' },
  { envName: 'REDIS_PORT', what: 'redis', port: redisPort, protocol: 'tcp' },
  { envName: 'SIP_PORT', what: 'kamailio', port: sipPort, protocol: 'udp' },
  { envName: 'SIP_PORT', what: 'kamailio', port: sipPort, protocol: 'tcp' },
  { envName: 'SIP_WS_PORT', what: 'kamailio', port: sipWsPort, protocol: 'tcp' },
  { envName: 'RTPENGINE_NG_PORT', what: 'rtpengine', port: ngPort, protocol: 'udp' },
  { envName: 'SIP_APP_HEALTH_PORT', what: 'sip', port: sipAppHealthPort, protocol: 'tcp' },
] as const;

for (const { envName, what, port: takenPort, protocol } of PORT_CASES) {
  test(`a taken ${envName} (${protocol}) stops the start with the port and the variable to change`, async () => {
    const blocker = await occupy(takenPort, protocol);
    try {
      const run = launch();
      const status = await run.waitForExit(STOP_TIMEOUT_MS);
      assert.is.not(status.code, 0);
      assert.match(
        run.output,
        `${what}: ${protocol === 'udp' ? 'UDP port' : 'port'} ${takenPort} on 127.0.0.1 is already in use`,
      );
      assert.match(run.output, `${envName}=<port>`);
      assert.is(run.childPids().size, 0, 'nothing was started');
    } finally {
      await blocker.close();
    }
  });
}

test('a bad PBX setting stops the start naming the variable, before anything starts', async () => {
  for (const [name, value] of [
    ['TRUNK_ADDRESSES', '10.0.0.1,not-an-address'],
    ['SIP_LISTEN_HOST', 'pbx.example'],
    ['SIP_EPHEMERAL_SECRET', 'short'],
  ] as const) {
    const run = launch({ [name]: value });
    const status = await run.waitForExit(STOP_TIMEOUT_MS);
    assert.is(status.code, 1, run.output);
    assert.match(run.output, `${name}`);
    assert.is(run.childPids().size, 0, 'nothing was started');
  }
});

test('a missing rtpengine stops the start with the install hint, and redis is stopped', async () => {
  const bin = path.join(tmp, 'redis-only-bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(findExecutable('redis-server') ?? '/usr/bin/redis-server', path.join(bin, 'redis-server'));
  const run = launch({ PATH: bin });
  const status = await run.waitForExit(STOP_TIMEOUT_MS);
  assert.is(status.code, 1, run.output);
  assert.match(run.output, 'the program "rtpengine" was not found');
  assert.match(run.output, 'apt-get install rtpengine-daemon');
  await assertAllGone(run);
});

test('a missing redis-server stops the start with the install hint', async () => {
  const emptyBin = path.join(tmp, 'empty-bin');
  mkdirSync(emptyBin, { recursive: true });
  const run = launch({ PATH: emptyBin });
  const status = await run.waitForExit(STOP_TIMEOUT_MS);
  assert.is.not(status.code, 0);
  assert.match(run.output, 'the program "redis-server" was not found');
  assert.match(run.output, 'apt-get install redis-server');
  await assertAllGone(run);
});

test('when a service fails to start on a bad setting, the others are stopped and the exit is non-zero with the reason', async () => {
  const run = launch({ LOG_LEVEL: 'loud' });
  const status = await run.waitForExit(READY_TIMEOUT_MS);
  assert.is(status.code, 1, run.output);
  // The sip app is the first service to read LOG_LEVEL.
  assert.match(run.output, /sip exited during start \(exit code 1\)/);
  assert.match(run.output, 'LOG_LEVEL');
  // A first start fails fast: it is not retried (only a service that has been ready is restarted).
  assert.is(run.allChildPids().get('sip')?.length, 1, 'the sip app was started once');
  assert.not.match(run.output, /restarting|not restarting/);
  assert.ok(run.childPids().has('redis'));
  await assertAllGone(run);
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
  await assertAllGone(run);
});

test.after(() => {
  for (const run of runs) run.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

test.run();
