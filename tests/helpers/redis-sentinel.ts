/**
 * A Redis Sentinel group on this machine, as docs/scaling.md lays one out across servers: a master,
 * one replica (replica-serve-stale, AOF with appendfsync everysec, as the master) and three sentinels
 * (quorum 2, started by deploy/redis/sentinel.sh as in docker-compose.scale.yml), all on 127.0.0.1
 * and free ports, with one password. It reaches each process in its config file (mode 600) or its
 * environment, never on a command line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '@deskline/scripts/free-port';
import { ManagedProcess, waitUntilHealthy } from '@deskline/scripts/managed-process';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { REDIS_INSTALL_HINT, pingRedis } from '@deskline/scripts/redis-server';
import { killOnExit } from './kill-on-exit.js';
import { waitFor } from './wait.js';

export const SENTINEL_MASTER = 'deskline';
/** How long the sentinels wait before they call the master down; docs/scaling.md gives the same. */
export const DOWN_AFTER_MS = 1000;

export interface RedisNode {
  port: number;
  dir: string;
  process: ManagedProcess;
}

export interface SentinelGroup {
  password: string;
  /** Both Redis servers, the first the master at the start. */
  nodes: RedisNode[];
  sentinelPorts: number[];
  /** REDIS_URL (its password; its address is the first master's), REDIS_SENTINELS, REDIS_SENTINEL_MASTER. */
  env: { REDIS_URL: string; REDIS_SENTINELS: string; REDIS_SENTINEL_MASTER: string };
  /** The master's port, as the sentinels tell it (undefined while none answers). */
  masterPort(): Promise<number | undefined>;
  /** Waits until a majority of sentinels names a master other than `oldPort`; resolves with its port. */
  waitForNewMaster(oldPort: number, timeoutMs: number): Promise<number>;
  /** Waits until every sentinel sees the node on `port` as a healthy replica (one a failover may promote). */
  waitForGoodReplica(port: number, timeoutMs: number): Promise<void>;
  /** A direct connection to one node (not through Sentinel), for checks. */
  connect(port: number): Redis;
  /** SIGKILL one node: no AOF flush, no goodbye. */
  kill(node: RedisNode): Promise<void>;
  /** Starts a killed node again with its data; the sentinels make it a replica of the master of the moment. */
  restart(node: RedisNode): Promise<void>;
  stop(): Promise<void>;
}

/** deploy/redis/sentinel.sh's user for everything but asking where the master is. */
export const SENTINEL_ADMIN = 'sentinel-admin';
const SENTINEL_SCRIPT = path.join(REPO_ROOT, 'deploy/redis/sentinel.sh');

function writeConfig(file: string, lines: string[]): void {
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Starts the group and waits until every sentinel sees the replica and the two other sentinels. */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'deskline-sentinel-'));
  const password = randomBytes(16).toString('hex');
  const processes: ManagedProcess[] = [];
  const start = async (
    name: string,
    configFile: string,
    port: number,
    sentinel?: Record<string, string>,
  ): Promise<ManagedProcess> => {
    const proc = sentinel
      ? ManagedProcess.start({
          name,
          command: 'bash',
          args: [SENTINEL_SCRIPT],
          env: { PATH: process.env['PATH'], ...sentinel },
        })
      : ManagedProcess.start({ name, command: 'redis-server', installHint: REDIS_INSTALL_HINT, args: [configFile] });
    killOnExit(proc);
    processes.push(proc);
    await waitUntilHealthy(proc, () => pingRedis('127.0.0.1', port, 500, sentinel ? undefined : password), 10_000);
    return proc;
  };

  try {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    const nodeConfig = (port: number, dir: string, replicaOf?: number): string => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, 'redis.conf');
      writeConfig(file, [
        'bind 127.0.0.1',
        `port ${port}`,
        `dir ${dir}`,
        'daemonize no',
        'protected-mode yes',
        'appendonly yes',
        'appendfsync everysec',
        'save ""',
        'replica-serve-stale-data yes',
        // The first full sync starts at once instead of 5 s later: the test starts from a synced replica.
        'repl-diskless-sync-delay 0',
        `requirepass ${password}`,
        `masterauth ${password}`,
        ...(replicaOf ? [`replicaof 127.0.0.1 ${replicaOf}`] : []),
      ]);
      return file;
    };
    const nodes: RedisNode[] = [];
    for (const [port, replicaOf] of [
      [masterPort, undefined],
      [replicaPort, masterPort],
    ] as const) {
      const dir = path.join(root, `redis-${port}`);
      const file = nodeConfig(port, dir, replicaOf);
      nodes.push({ port, dir, process: await start(`redis-${port}`, file, port) });
    }

    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    for (const port of sentinelPorts) {
      const dir = path.join(root, `sentinel-${port}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The shipped script writes the config (and its access rules) as in docker-compose.scale.yml.
      await start(`sentinel-${port}`, '', port, {
        REDIS_PASSWORD: password,
        SENTINEL_PORT: String(port),
        SENTINEL_DIR: dir,
        SENTINEL_MONITOR: `127.0.0.1 ${masterPort}`,
        REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
        SENTINEL_DOWN_AFTER_MS: String(DOWN_AFTER_MS),
      });
    }

    const sentinelAsk = async (port: number, ...args: string[]): Promise<unknown> => {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        username: SENTINEL_ADMIN,
        password,
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return await client.call('SENTINEL', ...args);
      } catch {
        return undefined;
      } finally {
        client.disconnect();
      }
    };
    const namedMasters = async (): Promise<Array<number | undefined>> =>
      Promise.all(
        sentinelPorts.map(async (port) => {
          const reply = (await sentinelAsk(port, 'get-master-addr-by-name', SENTINEL_MASTER)) as
            [string, string] | null | undefined;
          return reply ? Number(reply[1]) : undefined;
        }),
      );
    const replica = new Redis({
      host: '127.0.0.1',
      port: replicaPort,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    replica.on('error', () => undefined);
    try {
      await waitFor(
        'the replica to sync with the master',
        async () =>
          (await replica.info('replication').catch(() => '')).includes('master_link_status:up') ? true : undefined,
        20_000,
      );
    } finally {
      replica.disconnect();
    }
    // Ready when each sentinel knows the replica and the two other sentinels: then a failover can happen.
    await waitFor(
      'the sentinels to find the replica and one another',
      async () => {
        const views = await Promise.all(
          sentinelPorts.map(async (port) => {
            const master = (await sentinelAsk(port, 'master', SENTINEL_MASTER)) as string[] | undefined;
            if (!master) return false;
            const value = (name: string): number => Number(master[master.indexOf(name) + 1]);
            return value('num-slaves') >= 1 && value('num-other-sentinels') >= 2;
          }),
        );
        return views.every(Boolean) ? true : undefined;
      },
      30_000,
    );

    const startNode = async (node: RedisNode): Promise<void> => {
      node.process = await start(`redis-${node.port}`, path.join(node.dir, 'redis.conf'), node.port);
    };
    return {
      password,
      nodes,
      sentinelPorts,
      env: {
        REDIS_URL: `redis://:${password}@127.0.0.1:${masterPort}`,
        REDIS_SENTINELS: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
        REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
      },
      async masterPort() {
        const named = (await namedMasters()).filter((port) => port !== undefined);
        return named[0];
      },
      waitForNewMaster(oldPort, timeoutMs) {
        return waitFor(
          `the sentinels to promote a new master in place of port ${oldPort}`,
          async () => {
            const named = await namedMasters();
            const moved = named.filter((port) => port !== undefined && port !== oldPort);
            return moved.length >= 2 ? moved[0] : undefined;
          },
          timeoutMs,
        );
      },
      async waitForGoodReplica(port, timeoutMs) {
        await waitFor(
          `the sentinels to see port ${port} as a healthy replica`,
          async () => {
            const views = await Promise.all(
              sentinelPorts.map(async (sentinelPort) => {
                const replicas = ((await sentinelAsk(sentinelPort, 'replicas', SENTINEL_MASTER)) ?? []) as string[][];
                return replicas.some((fields) => {
                  const value = (name: string): string | undefined => fields[fields.indexOf(name) + 1];
                  return (
                    value('port') === String(port) && value('flags') === 'slave' && value('master-link-status') === 'ok'
                  );
                });
              }),
            );
            return views.every(Boolean) ? true : undefined;
          },
          timeoutMs,
        );
      },
      connect(port) {
        const redis = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
        redis.on('error', () => undefined);
        return redis;
      },
      async kill(node) {
        node.process.killNow();
        await node.process.exited;
      },
      restart: startNode,
      async stop() {
        // DESKLINE_TEST_LOGS=1 (as for Kamailio): what the sentinels decided, to follow a failover.
        if (process.env['DESKLINE_TEST_LOGS'] === '1')
          for (const proc of processes) process.stderr.write(`${proc.recentLines.join('\n')}\n`);
        for (const proc of processes.reverse()) await proc.stop();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const proc of processes.reverse()) await proc.stop();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}
