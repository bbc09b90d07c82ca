/**
 * The caddy service of docker-compose.yml, run here without a Docker engine: Debian's caddy runs the
 * repository's Caddyfile with the environment compose gives it, and compose's own healthcheck command
 * (read from docker-compose.yml, the script it names found through the Caddy Dockerfile's COPY) must
 * pass while Caddy serves and fail once it is gone. Only the listen addresses move to free loopback
 * ports, so this test binds nothing else and can run beside others.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { waitUntilHealthy } from '@deskline/scripts/managed-process';
import { adaptCaddyfile, caddyEnvironment, onFreePorts, runCaddy } from '../../helpers/caddy.js';

const run = promisify(execFile);

interface CaddyService {
  build: { dockerfile: string };
  command: string[];
  environment: Record<string, string>;
  volumes: string[];
  healthcheck: { test: string[] };
}
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: { caddy: CaddyService };
};
const caddy = compose.services.caddy;

const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-caddy-'));
/** What clinic IT fills in, and a certificate from Caddy's own CA: no CA on the internet is asked. */
const ENV: Record<string, string> = {
  PUBLIC_HOSTNAME: 'phones.clinic.example',
  CADDY_TLS: 'tls internal',
  // A free port: no signaling there (8080 may be another run's).
  SIGNALING_UPSTREAMS: `127.0.0.1:${await freePort()}`,
  SIP_LISTEN_HOST: '127.0.0.1',
  SIP_WS_PORT: '5066',
};
const caddyEnv = caddyEnvironment(dir, ENV);

/** Compose's healthcheck: ["CMD", script in the image, args...], the script taken from this repository. */
function healthcheck(): { script: string; args: string[] } {
  const [kind, inImage = '', ...args] = caddy.healthcheck.test;
  assert.is(kind, 'CMD');
  const dockerfile = readFileSync(path.join(REPO_ROOT, caddy.build.dockerfile), 'utf8');
  const copied = [...dockerfile.matchAll(/^COPY (\S+) (\S+)$/gm)].find((m) => m[2] === inImage);
  assert.ok(copied, `${caddy.build.dockerfile} puts ${inImage} in the image`);
  return { script: path.join(REPO_ROOT, copied?.[1] ?? ''), args };
}

/** Runs a healthcheck as Docker does: healthy is exit code 0. */
function healthy(script: string, args: string[]): Promise<boolean> {
  return run('bash', [script, ...args], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
}

/** The status of GET path on the public site, over TLS with the public name. */
function publicStatus(port: number, pathname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        servername: ENV['PUBLIC_HOSTNAME'],
        headers: { host: ENV['PUBLIC_HOSTNAME'] },
        rejectUnauthorized: false,
        timeout: 15_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname}: no answer`)));
    req.on('error', reject);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("Caddy: compose's healthcheck passes while Caddy runs the Caddyfile with compose's environment, and fails once Caddy is gone", async () => {
  assert.equal(Object.keys(caddy.environment).sort(), Object.keys(ENV).sort(), 'the test sets what compose sets');
  const caddyfile = caddy.volumes.find((v) => v.endsWith(':/etc/caddy/Caddyfile:ro'))?.split(':')[0] ?? '';
  assert.is(path.resolve(REPO_ROOT, caddyfile), path.join(REPO_ROOT, 'deploy/caddy/Caddyfile'));
  assert.equal(caddy.command.slice(1), ['--config', '/etc/caddy/Caddyfile', '--adapter', 'caddyfile']);

  const config = adaptCaddyfile(caddyEnv, path.join(REPO_ROOT, caddyfile));

  const { script, args } = healthcheck();
  const [host = '', port = '', ...rest] = args;
  const servers = Object.values(config.apps.http.servers);
  const health = servers.find((s) => s.listen.includes(`${host}:${port}`));
  assert.ok(health, `a server listens on ${host}:${port}, where the healthcheck asks`);
  assert.equal(health?.listen, [`${host}:${port}`], 'the health site is on the loopback only');
  assert.is(host, '127.0.0.1');

  // The same configuration on free loopback ports: admin, health site, public HTTPS site without the
  // port-80 redirect, and no attempt to put Caddy's CA in this machine's trust store.
  for (const server of servers) if (server !== health) assert.equal(server.listen, [':443']);
  const { healthPort, httpsPort } = await onFreePorts(config, `${host}:${port}`);

  const probe = [host, String(healthPort), ...rest];
  assert.is(await healthy(script, probe), false, 'unhealthy before Caddy runs');
  const proc = runCaddy(config, caddyEnv, dir);
  try {
    await waitUntilHealthy(proc, () => healthy(script, probe), 15_000);
    assert.is(await healthy(script, [host, String(healthPort), '/config/']), false, 'only the health route is healthy');
    // The public site does not answer the health route itself: it goes to signaling (absent here),
    // which Caddy looks for during lb_try_duration (10 s) before it gives up: 502 while its health
    // check has not yet failed, 503 (no instance available) once it has.
    const status = await publicStatus(httpsPort, rest[0] ?? '');
    assert.ok(status === 502 || status === 503, `${status}`);
  } finally {
    await proc.stop();
  }
  assert.is(await healthy(script, probe), false, 'unhealthy once Caddy is gone');
});

test.run();
