/**
 * Debian's caddy running the repository's Caddyfile (deploy/caddy/Caddyfile) as compose runs it, with
 * the listeners moved to free loopback ports so that a test binds nothing else: the config is adapted
 * to JSON with the environment the test gives, then the ports are rewritten.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { ManagedProcess, waitUntilHealthy } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';

export const CADDYFILE = path.join(REPO_ROOT, 'deploy/caddy/Caddyfile');

export interface CaddyServer {
  listen: string[];
  automatic_https?: Record<string, unknown>;
}
export interface CaddyJson {
  admin: { listen: string };
  apps: { http: { http_port?: number; https_port?: number; servers: Record<string, CaddyServer> }; pki?: unknown };
}

/** Caddy's state (its CA, certificates) in `dir`, never in the caller's home. */
export function caddyEnvironment(dir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    ...env,
  };
}

/** `caddy adapt` of the repository's Caddyfile under `env` (caddyEnvironment). */
export function adaptCaddyfile(env: NodeJS.ProcessEnv, caddyfile = CADDYFILE): CaddyJson {
  const adapted = spawnSync('caddy', ['adapt', '--config', caddyfile, '--adapter', 'caddyfile'], {
    env,
    encoding: 'utf8',
  });
  if (adapted.status !== 0) throw new Error(`caddy adapt failed: ${adapted.stderr}`);
  return JSON.parse(adapted.stdout) as CaddyJson;
}

/**
 * Moves `config` to free loopback ports: the admin API, the health site (the server listening on
 * `healthListen`), and the public HTTPS site (without the port-80 redirect, and without putting
 * Caddy's CA into this machine's trust store). Answers the new health and HTTPS ports.
 */
export async function onFreePorts(
  config: CaddyJson,
  healthListen: string,
): Promise<{ healthPort: number; httpsPort: number }> {
  const healthPort = await freePort();
  const httpsPort = await freePort();
  config.admin.listen = `127.0.0.1:${await freePort()}`;
  config.apps.http.https_port = httpsPort;
  config.apps.http.http_port = await freePort();
  for (const server of Object.values(config.apps.http.servers)) {
    if (server.listen.includes(healthListen)) server.listen = [`127.0.0.1:${healthPort}`];
    else {
      if (server.listen.join() !== ':443') throw new Error(`unexpected listener ${server.listen.join()}`);
      server.listen = [`127.0.0.1:${httpsPort}`];
      server.automatic_https = { ...server.automatic_https, disable_redirects: true };
    }
  }
  config.apps.pki = { certificate_authorities: { local: { install_trust: false } } };
  return { healthPort, httpsPort };
}

/** Runs `config` (JSON) with `env`; the config file is written into `dir`. */
export function runCaddy(config: CaddyJson, env: NodeJS.ProcessEnv, dir: string): ManagedProcess {
  const file = path.join(dir, 'caddy.json');
  writeFileSync(file, JSON.stringify(config));
  return killOnExit(
    ManagedProcess.start({
      name: 'caddy',
      command: 'caddy',
      args: ['run', '--config', file],
      env,
      installHint: 'apt-get install caddy',
    }),
  );
}

export interface TestCaddy {
  /** The public site's port (HTTPS, `tls internal`), on 127.0.0.1. */
  httpsPort: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The repository's Caddyfile with `env` (PUBLIC_HOSTNAME, SIGNALING_UPSTREAMS, …) on free ports, ready
 * once its health site answers.
 */
export async function startTestCaddy(env: Record<string, string>): Promise<TestCaddy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-caddy-'));
  const caddyEnv = caddyEnvironment(dir, env);
  const config = adaptCaddyfile(caddyEnv);
  const { healthPort, httpsPort } = await onFreePorts(config, '127.0.0.1:2080');
  const proc = runCaddy(config, caddyEnv, dir);
  const healthy = (): Promise<boolean> =>
    fetch(`http://127.0.0.1:${healthPort}/healthz`).then(
      (response) => response.status === 200,
      () => false,
    );
  try {
    await waitUntilHealthy(proc, healthy, 15_000);
  } catch (error) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    httpsPort,
    process: proc,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
