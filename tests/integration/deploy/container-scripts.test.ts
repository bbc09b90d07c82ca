/**
 * What the containers of docker-compose.yml run besides the services themselves, run here against the
 * real services: the healthcheck scripts (deploy/healthcheck/), Redis's start script with its
 * password, Kamailio reaching that password-protected Redis with compose's REDIS_SERVER spec, and
 * rtpengine's start script keeping its calls there.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { ManagedProcess, waitUntilHealthy } from '@deskline/scripts/managed-process';
import { rtpengineArgs } from '@deskline/scripts/rtpengine';
import { ngPing, ngRequest } from '@deskline/scripts/rtpengine-ng';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { killOnExit } from '../../helpers/kill-on-exit.js';
import { reserveMediaRange, startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { phoneHa1, register } from '../../helpers/sip-register.js';

const run = promisify(execFile);
const script = (name: string): string => path.join(REPO_ROOT, 'deploy', name);
const PASSWORD = 'b7'.repeat(32);

const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-container-scripts-'));
let redisPort: number;
let redis: ManagedProcess;
let db: Redis;
let kamailio: TestKamailio;
let rtpengine: TestRtpengine;
let signaling: FastifyInstance;
let signalingPort: number;

/** One command over a bare connection, without a password: the first line of the answer. */
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(`${command}\r\n`));
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer to ${command}`)));
    socket.once('error', reject);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().split('\r\n')[0] ?? '');
    });
  });
}

/** Runs a healthcheck as Docker does: healthy is exit code 0. */
async function healthy(command: string, ...args: string[]): Promise<boolean> {
  return run('bash', [command, ...args], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
}

test.before(async () => {
  redisPort = await freePort();
  // The redis service's command line: the launcher's arguments after the start script.
  redis = killOnExit(
    ManagedProcess.start({
      name: 'redis',
      command: 'bash',
      args: [
        script('redis/start.sh'),
        '--bind',
        '127.0.0.1',
        '--port',
        String(redisPort),
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--daemonize',
        'no',
      ],
      env: { ...process.env, REDIS_PASSWORD: PASSWORD },
    }),
  );
  // Up once it answers, even if only to refuse a PING without the password.
  await waitUntilHealthy(
    redis,
    () =>
      rawCommand(redisPort, 'PING').then(
        () => true,
        () => false,
      ),
    10_000,
  );
  db = new Redis(`redis://:${PASSWORD}@127.0.0.1:${redisPort}`);
  kamailio = await startTestKamailio({ redisUrl: `redis://:${PASSWORD}@127.0.0.1:${redisPort}` });
  rtpengine = await startTestRtpengine();
  signaling = await buildTestApp(`redis://:${PASSWORD}@127.0.0.1:${redisPort}`);
  signalingPort = Number(new URL(await signaling.listen({ host: '127.0.0.1', port: 0 })).port);
});

test.after(async () => {
  await signaling?.close();
  await rtpengine?.stop();
  await kamailio?.stop();
  db?.disconnect();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('Redis: the start script makes it ask for REDIS_PASSWORD, which is on no command line, with AOF on', async () => {
  assert.match(await rawCommand(redisPort, 'PING'), /^-NOAUTH/);
  assert.is(await db.ping(), 'PONG');
  assert.equal(await db.config('GET', 'appendonly'), ['appendonly', 'yes']);
  const commandLine = readFileSync(`/proc/${redis.pid}/cmdline`, 'utf8');
  assert.not.ok(commandLine.includes(PASSWORD), commandLine);
});

test('Redis: a backup made with redis-cli --rdb comes back with deploy/redis/restore.sh, AOF on, in a Redis started as compose starts it', async () => {
  await db.set('backup-probe', 'before the backup');
  await db.hset('user:backup-probe', 'email', 'anna@clinic.example');
  const backup = path.join(dir, 'backup.rdb');
  await run('redis-cli', ['-p', String(redisPort), '--rdb', backup], {
    env: { ...process.env, REDISCLI_AUTH: PASSWORD },
  });
  await db.set('backup-probe', 'after the backup');

  const restored = mkdtempSync(path.join(dir, 'restored-'));
  const { stdout } = await run('bash', [script('redis/restore.sh'), backup], {
    env: { ...process.env, DATA_DIR: restored },
  });
  assert.match(stdout, /restore: \d+ keys from/);
  const port = await freePort();
  const again = killOnExit(
    ManagedProcess.start({
      name: 'redis-restored',
      command: 'bash',
      args: [
        script('redis/start.sh'),
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        restored,
        '--appendonly',
        'yes',
        '--daemonize',
        'no',
      ],
      env: { ...process.env, REDIS_PASSWORD: PASSWORD },
    }),
  );
  const client = new Redis(`redis://:${PASSWORD}@127.0.0.1:${port}`, { lazyConnect: true });
  try {
    await waitUntilHealthy(
      again,
      () =>
        rawCommand(port, 'PING').then(
          () => true,
          () => false,
        ),
      10_000,
    );
    await client.connect();
    assert.is(await client.get('backup-probe'), 'before the backup');
    assert.is(await client.hget('user:backup-probe', 'email'), 'anna@clinic.example');
    assert.equal(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  } finally {
    client.disconnect();
    await again.stop();
  }
});

test("Redis: compose's healthcheck command passes with the password and fails without it", async () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: { redis: { healthcheck: { test: string[] } } };
  };
  const [kind, shell = ''] = compose.services.redis.healthcheck.test;
  assert.is(kind, 'CMD-SHELL');
  // What Docker runs once compose has interpolated the file.
  const command = shell.replace('${REDIS_PORT:-6379}', String(redisPort)).replaceAll('$$', '$');
  const check = (password: string) =>
    run('sh', ['-c', command], { env: { PATH: process.env['PATH'], REDIS_PASSWORD: password } }).then(
      () => true,
      () => false,
    );
  assert.is(await check(PASSWORD), true);
  assert.is(await check('wrong'), false);
});

test('Kamailio reaches the password-protected Redis: a desk phone registers with its HA1 from there', async () => {
  await db.hset(RedisKeys.sipCredentials, '201', phoneHa1('201', kamailio.domain, 'desk-phone-password'));
  const phone = await SipUdpEndpoint.open('127.0.0.1', kamailio.sipPort);
  try {
    const { response } = await register(phone, {
      user: '201',
      domain: kamailio.domain,
      username: '201',
      password: 'desk-phone-password',
      contact: `sip:201@127.0.0.1:${phone.localPort}`,
      expires: 60,
    });
    assert.is(response.status, 200, response.raw);
    assert.ok(await db.get(RedisKeys.sipRegistration('201')), 'Kamailio wrote the registration to Redis');
  } finally {
    await phone.close();
  }
});

test('sip-options.sh: healthy while Kamailio answers OPTIONS, not when nothing listens', async () => {
  assert.is(await healthy(script('healthcheck/sip-options.sh'), '127.0.0.1', String(kamailio.sipPort)), true);
  assert.is(
    await healthy(script('healthcheck/sip-options.sh'), '127.0.0.1', String(await freePort('127.0.0.1', ['udp']))),
    false,
  );
});

test('ng-ping.sh: healthy while rtpengine answers ping, not when nothing listens', async () => {
  assert.is(await healthy(script('healthcheck/ng-ping.sh'), '127.0.0.1', String(rtpengine.ngPort)), true);
  assert.is(
    await healthy(script('healthcheck/ng-ping.sh'), '127.0.0.1', String(await freePort('127.0.0.1', ['udp']))),
    false,
  );
});

test('rtpengine: start.sh keeps its calls in database RTPENGINE_REDIS_DB of the password-protected Redis (the password on no command line, in no environment, in a file only its owner reads); killed and started again, it has them back', async () => {
  const ngPort = await freePort('127.0.0.1', ['udp', 'tcp']);
  const range = await reserveMediaRange(10);
  const runDir = path.join(dir, 'rtpengine-run');
  // The rtpengine service's command line: the launcher's arguments after the start script.
  const args = rtpengineArgs({
    ngHost: '127.0.0.1',
    ngPort,
    interface: '127.0.0.1',
    portMin: range.portMin,
    portMax: range.portMax,
  });
  const env = {
    ...process.env,
    REDIS_PASSWORD: PASSWORD,
    REDIS_PORT: String(redisPort),
    RTPENGINE_REDIS_DB: '3',
    RTPENGINE_RUN_DIR: runDir,
    RTPENGINE_BIN: 'rtpengine',
  };
  const start = async (): Promise<ManagedProcess> => {
    const proc = killOnExit(
      ManagedProcess.start({
        name: 'rtpengine-start',
        command: 'sh',
        args: [script('rtpengine/start.sh'), ...args],
        env,
      }),
    );
    await waitUntilHealthy(proc, () => ngPing('127.0.0.1', ngPort), 10_000);
    return proc;
  };
  const keyspace = new Redis(`redis://:${PASSWORD}@127.0.0.1:${redisPort}/3`);
  let proc = await start();
  try {
    assert.not.ok(
      readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').includes(PASSWORD),
      'the password is on no command line',
    );
    assert.not.ok(readFileSync(`/proc/${proc.pid}/environ`, 'utf8').includes(PASSWORD), 'nor in its environment');
    assert.is(statSync(path.join(runDir, 'rtpengine.conf')).mode & 0o777, 0o600);
    assert.is(statSync(runDir).mode & 0o777, 0o700);
    const sdp = (port: number): string =>
      `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=sendrecv\r\n`;
    assert.is(
      (await ngRequest('127.0.0.1', ngPort, { command: 'offer', 'call-id': 'kept', 'from-tag': 'a', sdp: sdp(4000) }))[
        'result'
      ],
      'ok',
    );
    assert.is(
      (
        await ngRequest('127.0.0.1', ngPort, {
          command: 'answer',
          'call-id': 'kept',
          'from-tag': 'a',
          'to-tag': 'b',
          sdp: sdp(4002),
        })
      )['result'],
      'ok',
    );
    assert.ok((await keyspace.dbsize()) > 0, 'the call is in database 3');
    proc.killNow();
    await proc.exited;
    proc = await start();
    assert.is(
      (await ngRequest('127.0.0.1', ngPort, { command: 'query', 'call-id': 'kept' }))['result'],
      'ok',
      'the restarted rtpengine has the call',
    );
    await ngRequest('127.0.0.1', ngPort, { command: 'delete', 'call-id': 'kept', 'delete delay': 0 });
    await waitUntilHealthy(proc, async () => (await keyspace.dbsize()) === 0, 5_000);
  } finally {
    await proc.stop();
    keyspace.disconnect();
    range.release();
  }
  const refused = await run('sh', [script('rtpengine/start.sh'), ...args], {
    env: { ...env, RTPENGINE_REDIS_DB: '0' },
  }).then(
    () => '',
    (err: { stderr?: string }) => err.stderr ?? 'failed',
  );
  assert.match(refused, /RTPENGINE_REDIS_DB=0 is invalid/);
});

test("http-ok.sh: healthy on signaling's /api/health (200), not on a 404 or a closed port", async () => {
  assert.is(await healthy(script('healthcheck/http-ok.sh'), '127.0.0.1', String(signalingPort), '/api/health'), true);
  assert.is(
    await healthy(script('healthcheck/http-ok.sh'), '127.0.0.1', String(signalingPort), '/api/nothing-here'),
    false,
  );
  assert.is(
    await healthy(script('healthcheck/http-ok.sh'), '127.0.0.1', String(await freePort()), '/api/health'),
    false,
  );
});

test.run();
