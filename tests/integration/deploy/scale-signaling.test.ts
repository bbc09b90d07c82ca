/**
 * The second signaling instance of docker-compose.scale.yml (docs/scaling.md, "Two signaling
 * instances"), resolved by docker-compose over docker-compose.yml with a filled-in .env.example: it
 * is the service signaling in every respect but its port, both reach Redis, Caddy waits for both and
 * proxies to both with its health check, and the stop of either drains before it closes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadConfig } from '@deskline/signaling/config';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { adaptCaddyfile, caddyEnvironment } from '../../helpers/caddy.js';

const run = promisify(execFile);

interface Service {
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  [key: string]: unknown;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-scale-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** .env.example as clinic IT fills it in, with PORT and SIGNALING_2_PORT as given. */
function envFile(ports: Record<string, string>): string {
  const values: Record<string, string> = {
    PUBLIC_HOSTNAME: 'phones.clinic.example',
    SIP_LISTEN_HOST: '192.0.2.10',
    RTPENGINE_INTERFACE: '192.0.2.10',
    TRUNK_ADDRESSES: '192.0.2.20',
    CLINIC_NUMBERS: '100',
    SIP_EPHEMERAL_SECRET: 'a'.repeat(64),
    REDIS_PASSWORD: 'b'.repeat(64),
    ...ports,
  };
  const text = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8').replace(
    /^([A-Z][A-Z0-9_]*)=.*$/gm,
    (line, key: string) => (key in values ? `${key}=${values[key]}` : line),
  );
  const file = path.join(tmp, `env-${Object.values(ports).join('-') || 'defaults'}`);
  writeFileSync(file, text);
  return file;
}

/** docker-compose config over both files, with no variable of this shell (it would win over .env). */
async function resolve(ports: Record<string, string> = {}): Promise<Record<string, Service>> {
  const files = ['docker-compose.yml', 'docker-compose.scale.yml'].flatMap((file) => [
    '-f',
    path.join(REPO_ROOT, file),
  ]);
  const { stdout } = await run('docker-compose', [...files, '--env-file', envFile(ports), 'config'], {
    cwd: tmp,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp },
  });
  return (parse(stdout) as { services: Record<string, Service> }).services;
}

test('signaling-2 is signaling with its own port, and Caddy proxies to both once both are healthy', async () => {
  const services = await resolve();
  const one = services['signaling'];
  const two = services['signaling-2'];
  assert.ok(one && two, 'both services exist');
  const { environment: envOne = {}, healthcheck: healthOne, ...restOne } = one ?? {};
  const { environment: envTwo = {}, healthcheck: healthTwo, ...restTwo } = two ?? {};
  assert.equal(restTwo, restOne, 'the same image, command, network, restart policy and dependencies');
  assert.equal({ ...envTwo, PORT: envOne['PORT'] }, envOne, 'the same settings but PORT');
  assert.is(envOne['PORT'], '8080');
  assert.is(envTwo['PORT'], '8081');
  assert.equal(
    healthTwo?.test,
    healthOne?.test.map((arg) => (arg === '8080' ? '8081' : arg)),
    'its healthcheck asks its own port',
  );
  // Both drain before they stop: Caddy (a check a second) has stopped sending them anything.
  for (const env of [envOne, envTwo]) assert.ok(loadConfig(env).SHUTDOWN_DRAIN_SECONDS >= 2);
  // Docker's SIGKILL comes after the drain and signaling's own 10 s bound on closing.
  const grace = /^(\d+)s$/.exec(String(one?.['stop_grace_period'] ?? ''));
  assert.ok(
    grace && Number(grace[1]) > loadConfig(envOne).SHUTDOWN_DRAIN_SECONDS + 10,
    `stop_grace_period ${String(one?.['stop_grace_period'])}`,
  );

  const caddy = services['caddy'];
  assert.equal(Object.keys(caddy?.depends_on ?? {}).sort(), ['kamailio', 'signaling', 'signaling-2']);
  assert.is(caddy?.depends_on?.['signaling-2']?.condition, 'service_healthy');
  const upstreams = caddy?.environment?.['SIGNALING_UPSTREAMS'];
  assert.is(upstreams, '127.0.0.1:8080 127.0.0.1:8081');

  // The Caddyfile with that environment: one reverse proxy over both, with the health check and the
  // retries docs/scaling.md describes.
  const config = JSON.stringify(adaptCaddyfile(caddyEnvironment(tmp, caddy?.environment ?? {})));
  const proxy =
    /\{"handle":\[\{"handler":"reverse_proxy","health_checks":(\{.*?\}\}),"load_balancing":(\{.*?\}\}?),"upstreams":(\[[^\]]*\])/.exec(
      config,
    );
  assert.ok(proxy, config);
  assert.equal(JSON.parse(proxy?.[3] ?? '[]'), [{ dial: '127.0.0.1:8080' }, { dial: '127.0.0.1:8081' }]);
  assert.equal(JSON.parse(proxy?.[1] ?? '{}'), { active: { interval: 1e9, timeout: 2e9, uri: '/api/health' } });
  const balancing = JSON.parse(proxy?.[2] ?? '{}') as { try_duration?: number; try_interval?: number };
  assert.ok((balancing.try_duration ?? 0) >= 5e9, 'a request waits for an instance at least 5 s');
});

test('the ports follow .env: PORT and SIGNALING_2_PORT', async () => {
  const services = await resolve({ PORT: '8090', SIGNALING_2_PORT: '8091' });
  assert.is(services['signaling']?.environment?.['PORT'], '8090');
  assert.is(services['signaling-2']?.environment?.['PORT'], '8091');
  assert.is(services['caddy']?.environment?.['SIGNALING_UPSTREAMS'], '127.0.0.1:8090 127.0.0.1:8091');
});

test.run();
