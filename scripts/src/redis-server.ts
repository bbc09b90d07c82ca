import net from 'node:net';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess, waitUntilHealthy } from './managed-process.js';

export interface RedisServerOptions {
  host: string;
  port: number;
  /** Data directory (AOF and RDB files). Created when missing. */
  dir: string;
  appendOnly: boolean;
  /** requirepass: clients must AUTH. It reaches redis-server in a config file (redisConfigFile), never in argv. */
  password?: string;
  bin?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunningRedis {
  process: ManagedProcess;
  url: string;
}

/** One command in RESP, so that an argument (a password) needs no quoting. */
function respCommand(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Sends PING (after AUTH, given a password) over a raw socket; true when Redis answers +PONG. */
export function pingRedis(host: string, port: number, timeoutMs = 500, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write((password ? respCommand('AUTH', password) : '') + respCommand('PING')));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('+PONG')) done(true);
      else if (reply.startsWith('-') || reply.includes('\r\n-')) done(false);
    });
  });
}

/**
 * Writes the config file that gives a redis-server its password (the first argument of its command
 * line, before redisServerArgs()): readable by its owner only, in a directory only the owner can
 * enter. Docker Compose gives the same line on standard input instead (deploy/redis/start.sh).
 */
export function writeRedisConfig(file: string, password: string): void {
  if (/[\s"'\\]/.test(password)) throw new Error('the Redis password must not contain spaces, quotes or backslashes');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `requirepass ${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export const REDIS_INSTALL_HINT = 'apt-get install redis-server';

/** The command line of a redis-server we own; shared by the tests' harness and the launcher. */
export function redisServerArgs(options: Pick<RedisServerOptions, 'host' | 'port' | 'dir' | 'appendOnly'>): string[] {
  return [
    '--bind',
    options.host,
    '--port',
    String(options.port),
    '--dir',
    options.dir,
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--save',
    options.appendOnly ? '3600 1 300 100 60 10000' : '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
}

/** Starts a redis-server we own and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions): Promise<RunningRedis> {
  mkdirSync(options.dir, { recursive: true });
  const configFile = path.join(options.dir, 'secrets', 'redis.conf');
  if (options.password) writeRedisConfig(configFile, options.password);
  const proc = ManagedProcess.start({
    name: 'redis',
    command: options.bin ?? 'redis-server',
    installHint: REDIS_INSTALL_HINT,
    args: [...(options.password ? [configFile] : []), ...redisServerArgs(options)],
    onLine: options.onLine,
  });
  try {
    await waitUntilHealthy(proc, () => pingRedis(options.host, options.port, 500, options.password), 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return { process: proc, url: `redis://${auth}${options.host}:${options.port}` };
}
