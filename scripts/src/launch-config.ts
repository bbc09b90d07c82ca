import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: scripts/dist/ is two levels below it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LaunchConfig {
  /** Where the launcher keeps data: var/ at the repo root unless DESKLINE_VAR_DIR says otherwise. */
  varDir: string;
  /** HOST and PORT of signaling's HTTP server. */
  host: string;
  port: number;
  /** Given by the user (the launcher then starts no Redis), or undefined. */
  redisUrl: string | undefined;
  /** The port of the redis-server the launcher starts. */
  redisPort: number;
  /** The launcher's environment, passed on to every child. */
  env: NodeJS.ProcessEnv;
}

export class LaunchConfigError extends Error {
  override name = 'LaunchConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535) {
    throw new LaunchConfigError(`${name}=${JSON.stringify(raw)} is invalid: it must be a port number from 1 to 65535.`);
  }
  return value;
}

/** Reads the launcher's settings from the environment, or throws a LaunchConfigError naming the variable. */
export function readLaunchConfig(env: NodeJS.ProcessEnv): LaunchConfig {
  const redisUrl = env['REDIS_URL'] || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new LaunchConfigError('REDIS_URL is invalid: it must look like redis://host:port (or leave it unset to let the launcher start Redis).');
  }
  return {
    varDir: path.resolve(env['DESKLINE_VAR_DIR'] || path.join(REPO_ROOT, 'var')),
    host: env['HOST'] || '127.0.0.1',
    port: port(env, 'PORT', 8080),
    redisUrl,
    redisPort: port(env, 'REDIS_PORT', 6379),
    env,
  };
}

/** The address a client on this machine uses to reach a server listening on `host`. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** http://host:port, with brackets around an IPv6 address. */
export function httpUrl(host: string, port: number): string {
  const h = connectHost(host);
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
