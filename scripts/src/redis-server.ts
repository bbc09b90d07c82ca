import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { ManagedProcess, waitUntilHealthy } from './managed-process.js';

export interface RedisServerOptions {
  host: string;
  port: number;
  /** Data directory (AOF and RDB files). Created when missing. */
  dir: string;
  appendOnly: boolean;
  bin?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunningRedis {
  process: ManagedProcess;
  url: string;
}

/** Sends PING over a raw socket; true when Redis answers +PONG. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export const REDIS_INSTALL_HINT = 'apt-get install redis-server';

/** The command line of a redis-server we own; shared by the tests' harness and the launcher. */
export function redisServerArgs(options: Pick<RedisServerOptions, 'host' | 'port' | 'dir' | 'appendOnly'>): string[] {
  return [
    '--bind', options.host,
    '--port', String(options.port),
    '--dir', options.dir,
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--save', options.appendOnly ? '3600 1 300 100 60 10000' : '',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
  ];
}

/** Starts a redis-server we own and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions): Promise<RunningRedis> {
  mkdirSync(options.dir, { recursive: true });
  const proc = ManagedProcess.start({
    name: 'redis',
    command: options.bin ?? 'redis-server',
    installHint: REDIS_INSTALL_HINT,
    args: redisServerArgs(options),
    onLine: options.onLine,
  });
  try {
    await waitUntilHealthy(proc, () => pingRedis(options.host, options.port), 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, url: `redis://${options.host}:${options.port}` };
}
