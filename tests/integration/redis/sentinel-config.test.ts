/**
 * Sentinel settings that are wrong, or a sentinel that lies (docs/scaling.md, "When the settings are
 * wrong"). Real sentinels and a real master (tests/helpers/redis-sentinel.ts), the shared connection
 * every app uses (env-config's connectRedis), and the sip app and the `deskline` tool as processes:
 * a clear message naming the sentinel and what it answered, no crash, and never a connection to a
 * master that a sentinel names on a host that is not one of REDIS_SENTINELS (the Redis password would
 * go there).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeRedis, connectRedis, dropRedis, type RedisSettings } from '@deskline/env-config/redis';
import { freePort } from '@deskline/scripts/free-port';
import { runCli } from '../../helpers/cli.js';
import {
  SENTINEL_ADMIN,
  SENTINEL_MASTER,
  startSentinelGroup,
  type SentinelGroup,
} from '../../helpers/redis-sentinel.js';

const SIP_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../sip/dist/main.js');

/**
 * A sentinel that is not ours: it answers every SENTINEL get-master-addr-by-name with `master`, and
 * +OK to anything else. `decoy` is a Redis stand-in at that address that counts who connects to it.
 */
interface Rogue {
  address: string;
  decoyConnections: () => number;
  close(): Promise<void>;
}

/** The RESP commands in `buffer`, each as its arguments (enough for ioredis's few). */
function commands(buffer: string): string[][] {
  const found: string[][] = [];
  let at = 0;
  while (buffer[at] === '*') {
    const end = buffer.indexOf('\r\n', at);
    const count = Number(buffer.slice(at + 1, end));
    at = end + 2;
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const lenEnd = buffer.indexOf('\r\n', at);
      const len = Number(buffer.slice(at + 1, lenEnd));
      args.push(buffer.slice(lenEnd + 2, lenEnd + 2 + len));
      at = lenEnd + 2 + len + 2;
    }
    found.push(args);
  }
  return found;
}

async function startRogue(decoyHost: string): Promise<Rogue> {
  let decoyConnections = 0;
  const decoy = net.createServer((socket) => {
    decoyConnections += 1;
    socket.destroy();
  });
  const decoyPort = await freePort(decoyHost);
  await new Promise<void>((resolve) => decoy.listen(decoyPort, decoyHost, resolve));
  const sentinel = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      for (const args of commands(data.toString())) {
        if (args[1]?.toLowerCase() === 'get-master-addr-by-name') {
          socket.write(
            `*2\r\n$${decoyHost.length}\r\n${decoyHost}\r\n$${String(decoyPort).length}\r\n${decoyPort}\r\n`,
          );
        } else {
          socket.write('+OK\r\n');
        }
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => sentinel.listen(port, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${port}`,
    decoyConnections: () => decoyConnections,
    close: async () => {
      await new Promise((resolve) => sentinel.close(resolve));
      await new Promise((resolve) => decoy.close(resolve));
    },
  };
}

interface Context {
  group: SentinelGroup;
}

const test = suite<Context>('Redis Sentinel: wrong settings and a lying sentinel');

test.before(async (context) => {
  context.group = await startSentinelGroup();
});

test.after(async (context) => {
  await context.group?.stop();
});

function settings(group: SentinelGroup, sentinels: string[], master = SENTINEL_MASTER): RedisSettings {
  return { REDIS_URL: group.env.REDIS_URL, REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: master };
}

/** A free port on 127.0.0.1 that nothing listens on: a sentinel that is down. */
async function deadSentinel(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

test('a sentinel that is down, listed first: the apps connect through the others and say which one is down', async ({
  group,
}) => {
  const dead = await deadSentinel();
  const problems: string[] = [];
  const started = Date.now();
  const redis = await connectRedis(settings(group, [dead, ...group.env.REDIS_SENTINELS.split(',')]), {
    connectionName: 'test-dead-sentinel',
    onError: (message) => problems.push(message),
  });
  try {
    assert.is(await redis.set('test:through-sentinel', 'yes'), 'OK');
    assert.ok(Date.now() - started < 5_000, `connected in ${Date.now() - started} ms`);
    assert.ok(
      problems.includes(`sentinel ${dead}: it does not answer (connection refused or closed)`),
      `the down sentinel is named: ${JSON.stringify(problems)}`,
    );
  } finally {
    dropRedis(redis);
  }
});

test('a connection ioredis ends for good (as a +switch-master during a reconnect does) is opened again; one closed on purpose stays closed', async ({
  group,
}) => {
  const problems: string[] = [];
  const redis = await connectRedis(settings(group, group.env.REDIS_SENTINELS.split(',')), {
    connectionName: 'test-ended',
    onError: (message) => problems.push(message),
  });
  try {
    // ioredis's own way to "end": what its connector does when a reconnect fails there.
    redis.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(redis.status, 'end');
    const started = Date.now();
    await waitUntilReady(redis, 3_000);
    assert.is(await redis.set('test:after-end', 'yes'), 'OK');
    console.log(`  ended connection open again after ${Date.now() - started} ms`);
    assert.ok(
      problems.some((p) => /gave up on the Redis connection/.test(p)),
      `said so: ${JSON.stringify(problems)}`,
    );
  } finally {
    await closeRedis(redis);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.is(redis.status, 'end', 'closed on purpose: stays closed');
});

async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (redis.status !== 'ready') {
    if (Date.now() > until) throw new Error(`the connection is ${redis.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a wrong master name: a clear error naming each sentinel, within seconds, from the shared connection, the sip app and the CLI', async ({
  group,
}) => {
  const sentinels = group.env.REDIS_SENTINELS.split(',');
  const started = Date.now();
  const err = await connectRedis(settings(group, sentinels, 'clinic-typo'), {
    connectionName: 'test-wrong-name',
    onError: () => undefined,
  }).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  assert.ok(err, 'connecting must fail');
  assert.ok(Date.now() - started < 5_000, `failed in ${Date.now() - started} ms`);
  assert.match(err.message, /^Cannot reach Redis through the sentinels .* \(master "clinic-typo"\): /);
  for (const sentinel of sentinels)
    assert.ok(
      err.message.includes(`sentinel ${sentinel}: it knows no master named "clinic-typo" (REDIS_SENTINEL_MASTER)`),
      err.message,
    );
  assert.not.match(err.message, new RegExp(group.password), 'no password in the message');

  const env = { ...group.env, REDIS_SENTINEL_MASTER: 'clinic-typo' };
  const sip = await runNode(SIP_MAIN, { ...env, RTPENGINE_NG_PORT: String(await freePort()), LOG_LEVEL: 'silent' });
  assert.is(sip.code, 1, 'the sip app exits');
  assert.match(sip.stderr, /^sip: Cannot reach Redis through the sentinels .*it knows no master named "clinic-typo"/m);
  assert.not.match(sip.stderr, /\n\s+at /, 'one line, no stack trace');

  const cli = await runCli(['user', 'list'], env);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /Cannot reach Redis through the sentinels .*it knows no master named "clinic-typo"/);
});

test('a sentinel that names a master on another host: that answer is refused (with the others, the right master is used; alone, a clear error), and nothing connects there', async ({
  group,
}) => {
  // 127.0.0.2 is this machine too, but not a host of REDIS_SENTINELS (127.0.0.1): as a foreign server.
  const rogue = await startRogue('127.0.0.2');
  try {
    const problems: string[] = [];
    const redis = await connectRedis(settings(group, [rogue.address, ...group.env.REDIS_SENTINELS.split(',')]), {
      connectionName: 'test-rogue-first',
      onError: (message) => problems.push(message),
    });
    try {
      assert.is(await redis.set('test:rogue', 'refused'), 'OK');
      const role = (await redis.call('ROLE')) as unknown[];
      assert.is(role[0], 'master');
    } finally {
      dropRedis(redis);
    }
    assert.ok(
      problems.some(
        (problem) =>
          problem.startsWith(`sentinel ${rogue.address}: it named the master 127.0.0.2:`) &&
          /not on a host of REDIS_SENTINELS/.test(problem),
      ),
      JSON.stringify(problems),
    );

    const alone = await connectRedis(settings(group, [rogue.address]), {
      connectionName: 'test-rogue-alone',
      onError: () => undefined,
    }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    assert.ok(alone, 'with only the lying sentinel, connecting fails');
    assert.match(alone.message, /it named the master 127\.0\.0\.2:\d+, which is not on a host of REDIS_SENTINELS/);
    assert.is(rogue.decoyConnections(), 0, 'nothing connected to the address the rogue sentinel gave');
  } finally {
    await rogue.close();
  }
});

test('every sentinel down: the start fails with each one named instead of waiting forever', async ({ group }) => {
  const dead = [await deadSentinel(), await deadSentinel()];
  const started = Date.now();
  const err = await connectRedis(settings(group, dead), {
    connectionName: 'test-all-down',
    onError: () => undefined,
  }).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  assert.ok(err);
  assert.ok(Date.now() - started < 5_000, `failed in ${Date.now() - started} ms`);
  for (const sentinel of dead) assert.ok(err.message.includes(`sentinel ${sentinel}: it does not answer`), err.message);
});

test('a sentinel answers anyone where the master is, and nothing else without the admin password', async ({
  group,
}) => {
  const port = group.sentinelPorts[0]!;
  const anonymous = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
  anonymous.on('error', () => undefined);
  try {
    await anonymous.connect();
    assert.equal(await anonymous.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER), [
      '127.0.0.1',
      String(group.nodes[0]!.port),
    ]);
    for (const args of [
      ['SENTINEL', 'FAILOVER', SENTINEL_MASTER],
      ['SENTINEL', 'SET', SENTINEL_MASTER, 'down-after-milliseconds', '1'],
      ['SENTINEL', 'MONITOR', 'evil', '192.0.2.1', '6379', '1'],
      ['SENTINEL', 'REMOVE', SENTINEL_MASTER],
      ['SENTINEL', 'MASTERS'],
      ['SENTINEL', 'CONFIG', 'GET', '*'],
      ['ACL', 'LIST'],
    ]) {
      const err = await anonymous.call(args[0]!, ...args.slice(1)).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      assert.match(err?.message ?? 'accepted', /^NOPERM/, args.join(' '));
    }
    const wrong = await anonymous.call('AUTH', SENTINEL_ADMIN, 'not-the-password').then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    assert.match(wrong?.message ?? 'logged in', /^WRONGPASS/);
    assert.is(
      await anonymous.call('AUTH', SENTINEL_ADMIN, group.password),
      'OK',
      'the admin user with the password may',
    );
    assert.ok(Array.isArray(await anonymous.call('SENTINEL', 'MASTERS')));
  } finally {
    anonymous.disconnect();
  }
});

/** Runs a Node program with only `env` (and PATH), and resolves with how it ended. */
function runNode(script: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env['PATH'], ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test.run();
