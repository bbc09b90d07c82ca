/**
 * docker-compose.yml, validated without a Docker engine: Debian's docker-compose resolves it, and the
 * resolved file must run what the launcher runs (scripts/src/services.ts), with the same config
 * files, arguments and environment variable names. Every list of variables below comes from the
 * code (the config schemas, the launcher, kamailio.cfg), so a variable added there fails this test
 * until docker-compose.yml sets it or lists it under x-deskline-defaulted, and .env.example documents it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import {
  KAMAILIO_CFG,
  kamailioArgs,
  kamailioEnv,
  kamailioProcessEnv,
  prepareKamailioRunDir,
} from '@deskline/scripts/kamailio';
import { REPO_ROOT, readLaunchConfig } from '@deskline/scripts/launch-config';
import { redisServerArgs } from '@deskline/scripts/redis-server';
import { RTPENGINE_CONF, rtpengineArgs } from '@deskline/scripts/rtpengine';
import { serviceDefinitions } from '@deskline/scripts/services';
import { TRUNK_REGISTRATION_VARIABLES } from '@deskline/scripts/trunk-registration';
import { ConfigSchema as SignalingSchema, loadConfig as loadSignalingConfig } from '@deskline/signaling/config';
import { ConfigSchema as SipSchema, loadConfig as loadSipConfig } from '@deskline/sip/config';

const run = promisify(execFile);

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = path.join(REPO_ROOT, '.env.example');
/** The second file for Redis with Sentinel (docs/scaling.md), used on top of the first. */
const SCALE_FILE = path.join(REPO_ROOT, 'docker-compose.scale.yml');
const rawText = readFileSync(COMPOSE_FILE, 'utf8');
const scaleText = readFileSync(SCALE_FILE, 'utf8');
const raw = parse(rawText, { merge: true }) as RawCompose;

interface Service {
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  stop_grace_period?: string;
  network_mode?: string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}
interface RawCompose extends Compose {
  'x-deskline-defaulted': Record<'launcher' | 'signaling' | 'sip' | 'kamailio', Record<string, string>>;
}

const SECRETS = {
  SIP_EPHEMERAL_SECRET: 'e'.repeat(64),
  REDIS_PASSWORD: 'a1'.repeat(32),
  TURN_SECRET: 't'.repeat(40),
};
/** What clinic IT fills in (docs/operations.md); addresses on this machine, so Kamailio can check its config here. */
const FILLED: Record<string, string> = {
  PUBLIC_HOSTNAME: 'phones.clinic.example',
  SIP_LISTEN_HOST: '127.0.0.1',
  RTPENGINE_INTERFACE: '127.0.0.1',
  TRUNK_ADDRESSES: '192.0.2.20',
  CLINIC_NUMBERS: '100,101',
  SIP_EPHEMERAL_SECRET: SECRETS.SIP_EPHEMERAL_SECRET,
  REDIS_PASSWORD: SECRETS.REDIS_PASSWORD,
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-compose-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** The variables .env.example assigns (NAME=...), in order. */
function exampleVariables(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1] ?? '', m[2] ?? '');
  }
  return vars;
}

/** .env.example with `values` filled in, as clinic IT makes it. */
function envFile(name: string, values: Record<string, string>): string {
  const text = readFileSync(ENV_EXAMPLE, 'utf8').replace(/^([A-Z][A-Z0-9_]*)=.*$/gm, (line, key: string) =>
    key in values ? `${key}=${values[key]}` : line,
  );
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

/** docker-compose with no variable of this shell: the shell's environment would win over .env. */
function compose(env: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return composeFiles([COMPOSE_FILE], env, ...args);
}

function composeFiles(files: string[], env: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker-compose', [...files.flatMap((file) => ['-f', file]), '--env-file', env, ...args], {
    cwd: tmp,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp },
  });
}

let resolved: Compose;
test.before(async () => {
  const { stdout } = await compose(envFile('filled.env', FILLED), 'config');
  resolved = parse(stdout) as Compose;
});

function service(name: string): Service {
  const found = resolved.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}
const env = (name: string): Record<string, string> => service(name).environment ?? {};

/** "source:target[:mode]" bind mounts and named volumes of a service, as docker-compose config prints them. */
function mounts(name: string): Array<{ source: string; target: string }> {
  return (service(name).volumes ?? []).map((v) => {
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}
function mountedAt(name: string, target: string): string | undefined {
  return mounts(name).find((m) => m.target === target)?.source;
}

/** The path after `-f` / `--config-file=`, and where in the container it comes from. */
function argValue(args: readonly string[], flag: string): string | undefined {
  const eq = args.find((a) => a.startsWith(`${flag}=`));
  if (eq) return eq.slice(flag.length + 1);
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A launcher configuration that touches nothing on disk. */
function launcherConfig(env: NodeJS.ProcessEnv = {}) {
  return readLaunchConfig({
    DESKLINE_VAR_DIR: path.join(tmp, 'var'),
    SIP_EPHEMERAL_SECRET: SECRETS.SIP_EPHEMERAL_SECRET,
    ...env,
  });
}

/** Names kamailio.cfg reads from its environment, and which of them it cannot start without. */
function kamailioVariables(): { all: string[]; required: string[] } {
  const cfg = readFileSync(KAMAILIO_CFG, 'utf8');
  const all = [...cfg.matchAll(/^#!trydefenvs? ([A-Z0-9_]+)$/gm)].map((m) => m[1] ?? '');
  const required = [...cfg.matchAll(/^loadmodule "missing-env-([A-Z0-9_]+)"$/gm)].map((m) => m[1] ?? '');
  return { all, required };
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

const START_SH = path.join(REPO_ROOT, 'deploy/kamailio/start.sh');
/** The carrier registration's settings are read by the container's start.sh, which writes uac's table from them. */
const REGISTRATION_VARIABLES: readonly string[] = TRUNK_REGISTRATION_VARIABLES;

test('docker-compose refuses .env.example as it stands, naming what is missing: no default secret, no guessed address', async () => {
  try {
    await compose(ENV_EXAMPLE, 'config', '-q');
    assert.unreachable('docker-compose accepted .env.example without secrets');
  } catch (err) {
    assert.match((err as { stderr?: string }).stderr ?? String(err), /is not set in \.env/);
  }
  for (const name of Object.keys(FILLED)) {
    const { [name]: _left, ...others } = FILLED;
    const refused = await compose(envFile(`without-${name}.env`, others), 'config', '-q').then(
      () => false,
      () => true,
    );
    assert.ok(refused, `docker-compose starts without ${name}`);
  }
});

test('docker-compose accepts the file with a filled-in .env, with TURN too; coturn only runs with --profile turn', async () => {
  await compose(envFile('filled.env', FILLED), 'config', '-q');
  const turn = await compose(
    envFile('turn.env', { ...FILLED, TURN_SECRET: SECRETS.TURN_SECRET, TURN_URLS: 'turn:phones.clinic.example:3478' }),
    '--profile',
    'turn',
    'config',
    '--services',
  );
  assert.equal(sorted(turn.stdout.trim().split('\n')), [
    'caddy',
    'coturn',
    'kamailio',
    'redis',
    'rtpengine',
    'signaling',
    'sip',
  ]);
  assert.equal(service('coturn').profiles, ['turn']);
  for (const [name, s] of Object.entries(resolved.services))
    if (name !== 'coturn') assert.is(s.profiles, undefined, `${name} always runs`);
});

test('every service the launcher runs is in the compose file, on the host network, restarted unless stopped', () => {
  for (const definition of serviceDefinitions(launcherConfig())) {
    const s = service(definition.name);
    assert.is(s.network_mode, 'host', definition.name);
    assert.is(s.restart, 'unless-stopped', definition.name);
  }
  assert.is(service('caddy').restart, 'unless-stopped');
});

test("every image of both compose files builds on the host network, and every container runs on it (an engine without Docker's bridge builds nothing else)", () => {
  const files = { 'docker-compose.yml': rawText, 'docker-compose.scale.yml': scaleText };
  let builds = 0;
  for (const [file, text] of Object.entries(files)) {
    const services = (
      parse(text, { merge: true }) as { services: Record<string, Service & { build?: { network?: string } }> }
    ).services;
    for (const [name, s] of Object.entries(services)) {
      if (!s.build) continue;
      builds++;
      assert.is(s.build.network, 'host', `${file}: ${name} builds on the host network`);
      assert.is(s.network_mode, 'host', `${file}: ${name} runs on the host network`);
    }
  }
  assert.ok(builds >= 10, `${builds} services with a build in both files`);
});

test('the config files the launcher gives Kamailio and rtpengine are the ones compose mounts where their commands look', () => {
  const kamailio = service('kamailio');
  const cfgInContainer = argValue(kamailio.command ?? [], '-f');
  assert.ok(cfgInContainer, 'kamailio has -f');
  assert.is(argValue(kamailioArgs('/run/kamailio'), '-f'), KAMAILIO_CFG);
  assert.is(mountedAt('kamailio', cfgInContainer), KAMAILIO_CFG);

  const rtpengine = service('rtpengine');
  const confInContainer = argValue(rtpengine.command ?? [], '--config-file');
  assert.ok(confInContainer, 'rtpengine has --config-file');
  assert.is(argValue(rtpengineArgs(launcherConfig().rtpengine), '--config-file'), RTPENGINE_CONF);
  assert.is(mountedAt('rtpengine', confInContainer), RTPENGINE_CONF);

  // The media: the sip app's default folder, mounted at the MEDIA_DIR the sip app is given, in both
  // containers (the sip app sends rtpengine the files' paths).
  const mediaDir = env('sip')['MEDIA_DIR'];
  assert.ok(mediaDir, 'the sip app gets MEDIA_DIR');
  const launcherMedia = (SipSchema.properties.MEDIA_DIR as { default: string }).default;
  assert.is(launcherMedia, path.join(REPO_ROOT, 'pbx-config/media'));
  assert.is(mountedAt('sip', mediaDir), launcherMedia);
  assert.is(mountedAt('rtpengine', mediaDir), launcherMedia);
});

test("the commands are the launcher's: Kamailio's and Redis's arguments, rtpengine's flags", () => {
  const kamailio = service('kamailio').command ?? [];
  const runDir = argValue(kamailio, '-Y') ?? '';
  const expected = kamailioArgs(runDir).map((a) => (a === KAMAILIO_CFG ? argValue(kamailio, '-f') : a));
  assert.equal(kamailio, expected);

  const flags = (args: readonly string[]): string[] => args.map((a) => a.split('=')[0] ?? '');
  const rtpengine = service('rtpengine').command ?? [];
  assert.equal(flags(rtpengine), flags(rtpengineArgs(launcherConfig().rtpengine)));
  assert.is(argValue(rtpengine, '--listen-ng'), '127.0.0.1:22222', 'the control port stays on the loopback');
  assert.is(argValue(rtpengine, '--interface'), FILLED['RTPENGINE_INTERFACE']);

  const redis = service('redis').command ?? [];
  assert.equal(redis, redisServerArgs({ host: '127.0.0.1', port: 6379, dir: '/data', appendOnly: true }));
});

test("Kamailio: compose and the launcher set exactly the variables kamailio.cfg reads, and the config accepts compose's values", () => {
  const { all, required } = kamailioVariables();
  assert.ok(required.length >= 9 && required.every((name) => all.includes(name)), `${required} within ${all}`);
  const launcher = kamailioEnv({
    ...launcherConfig().sip,
    ephemeralSecret: SECRETS.SIP_EPHEMERAL_SECRET,
    redisUrl: 'redis://127.0.0.1:6379',
  });
  const composed = env('kamailio');
  // SIP_ADVERTISE is always passed by compose, empty unless .env sets it; the launcher sets it only
  // when given (the next test checks both with one).
  assert.is(composed['SIP_ADVERTISE'], '');
  assert.equal(
    sorted(Object.keys(composed).filter((name) => composed[name] !== '')),
    sorted(Object.keys(launcher)),
    'compose and the launcher set the same ones',
  );
  for (const name of Object.keys(composed)) {
    assert.ok(
      all.includes(name) || REGISTRATION_VARIABLES.includes(name),
      `neither kamailio.cfg nor start.sh reads ${name}`,
    );
  }
  const startSh = readFileSync(START_SH, 'utf8');
  for (const name of REGISTRATION_VARIABLES) {
    assert.is(composed[name], '', `${name} is passed, empty unless .env sets it`);
    assert.ok(startSh.includes(name), `start.sh reads ${name}`);
  }
  for (const name of required) assert.ok(name in composed, `compose does not set ${name}`);
  const defaulted = raw['x-deskline-defaulted'].kamailio;
  for (const name of all.filter((n) => !(n in composed)))
    assert.ok(name in defaulted, `${name}: neither set nor listed as defaulted`);
  assert.is(composed['REDIS_SERVER'], `name=deskline;addr=127.0.0.1;port=6379;pass=${SECRETS.REDIS_PASSWORD}`);

  kamailioAccepts(composed, "compose's environment");
});

test('SIP_ADVERTISE (NAT): compose and the launcher pass the same public address, and Kamailio, started the way the container starts it, accepts it', async () => {
  const { stdout } = await compose(envFile('advertise.env', { ...FILLED, SIP_ADVERTISE: '203.0.113.7' }), 'config');
  const composed = (parse(stdout) as Compose).services['kamailio']?.environment ?? {};
  assert.is(composed['SIP_ADVERTISE'], '203.0.113.7');
  const launcher = kamailioEnv({
    ...launcherConfig({ SIP_ADVERTISE: '203.0.113.7' }).sip,
    ephemeralSecret: SECRETS.SIP_EPHEMERAL_SECRET,
    redisUrl: 'redis://127.0.0.1:6379',
  });
  assert.is(launcher['SIP_ADVERTISE'], '203.0.113.7');
  assert.throws(() => launcherConfig({ SIP_ADVERTISE: 'phones.clinic.example' }), /SIP_ADVERTISE/);
  assert.match(
    readFileSync(path.join(REPO_ROOT, 'deploy/kamailio/Dockerfile'), 'utf8'),
    /ENTRYPOINT \[.*kamailio-start\.sh"\]/,
  );
  kamailioAccepts(composed, 'a public address', ['advertise 203.0.113.7:5060']);
  kamailioAccepts({ ...composed, SIP_ADVERTISE: '' }, 'an empty SIP_ADVERTISE');
});

test('docker-compose.scale.yml: sip-2 is the sip service but for its two ports, and Kamailio, told both addresses, accepts them', async () => {
  const { stdout } = await run(
    'docker-compose',
    [
      '-f',
      COMPOSE_FILE,
      '-f',
      path.join(REPO_ROOT, 'docker-compose.scale.yml'),
      '--env-file',
      envFile('scale.env', FILLED),
      'config',
    ],
    {
      cwd: tmp,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp },
    },
  );
  const scaled = (parse(stdout) as Compose).services;
  const [sip, sip2, kamailio] = [scaled['sip'], scaled['sip-2'], scaled['kamailio']];
  if (!sip || !sip2 || !kamailio) throw new Error('sip, sip-2 and kamailio in the merged file');
  const ports = { SIP_APP_PORT: '5072', SIP_APP_HEALTH_PORT: '5073' };
  assert.equal(sip2.environment, { ...sip.environment, ...ports }, "sip-2's environment is sip's, with its own ports");
  assert.equal(
    { ...sip2, environment: undefined, healthcheck: undefined },
    { ...sip, environment: undefined, healthcheck: undefined },
    'the same image, command, volumes and dependencies',
  );
  assert.ok(JSON.stringify(sip2.healthcheck).includes('"5073"'), "sip-2's healthcheck asks its own health port");
  const addresses = kamailio.environment?.['SIP_APP_ADDRESSES'];
  assert.is(addresses, `127.0.0.1:${sip.environment?.['SIP_APP_PORT']},127.0.0.1:5072`);
  kamailioAccepts(kamailio.environment ?? {}, 'two sip app instances');
});

const REGISTRATION = {
  TRUNK_REGISTRAR: '203.0.113.10:5060',
  TRUNK_DOMAIN: 'sip.carrier.example',
  TRUNK_USERNAME: '4930123456',
  // ':' and '\\' are escaped in db_text; the space and '#' are kept as they are.
  TRUNK_PASSWORD: 'pa:ss w\\rd#1',
  TRUNK_AUTH_USERNAME: 'clinic:4930',
  TRUNK_REALM: 'carrier.example',
  TRUNK_REGISTER_EXPIRES: '600',
};

/** The environment Kamailio gets when the container's start.sh runs with `env`: a stand-in for kamailio prints it. */
function containerKamailioEnv(env: Record<string, string>, runDir: string): Record<string, string> {
  const printer = path.join(tmp, 'print-env.sh');
  writeFileSync(printer, '#!/bin/sh\nexec env\n');
  chmodSync(printer, 0o755);
  const run = spawnSync(START_SH, ['-f', KAMAILIO_CFG, '-DD', '-E', '-Y', runDir], {
    env: { PATH: process.env['PATH'], ...env, KAMAILIO_BIN: printer },
    encoding: 'utf8',
  });
  assert.is(run.status, 0, run.stderr);
  return Object.fromEntries(
    run.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

test("a carrier registration: compose passes the settings, start.sh writes the launcher's table byte for byte, and Kamailio gets the same variables and accepts the config", async () => {
  const { stdout } = await compose(envFile('registration.env', { ...FILLED, ...REGISTRATION }), 'config');
  const composed = (parse(stdout) as Compose).services['kamailio']?.environment ?? {};
  for (const [name, value] of Object.entries(REGISTRATION))
    assert.is(composed[name], value, `compose passes ${name} as .env has it`);

  const containerRun = mkdtempSync(path.join(tmp, 'container-run-'));
  const container = containerKamailioEnv(composed, containerRun);
  const launcherRun = mkdtempSync(path.join(tmp, 'launcher-run-'));
  const config = launcherConfig(REGISTRATION);
  const settings = { ...config.sip, ephemeralSecret: SECRETS.SIP_EPHEMERAL_SECRET, redisUrl: 'redis://127.0.0.1:6379' };
  prepareKamailioRunDir(launcherRun, settings);
  const launcher = kamailioProcessEnv({ PATH: process.env['PATH'] ?? '' }, settings, launcherRun);

  // The same two tables, private to Kamailio's user.
  for (const file of ['uacreg', 'version']) {
    const fromContainer = path.join(containerRun, 'uacreg', file);
    assert.is(
      readFileSync(fromContainer, 'utf8'),
      readFileSync(path.join(launcherRun, 'uacreg', file), 'utf8'),
      `${file}: start.sh and the launcher write the same`,
    );
    assert.is(statSync(fromContainer).mode & 0o777, 0o600);
  }
  assert.is(statSync(path.join(containerRun, 'uacreg')).mode & 0o777, 0o700);
  assert.match(readFileSync(path.join(launcherRun, 'uacreg', 'uacreg'), 'utf8'), ':clinic\\:4930:pa\\:ss w\\\\rd#1:');

  // The same variables of kamailio.cfg, with the table each wrote; none of the registration's own.
  const { all } = kamailioVariables();
  const read = (env: Record<string, string | undefined>): string[] => sorted(all.filter((name) => env[name]));
  assert.equal(read(container), read(launcher));
  assert.ok(read(launcher).includes('TRUNK_REGISTRATION_DB'));
  assert.is(container['TRUNK_REGISTRATION_DB'], `text://${containerRun}/uacreg`);
  assert.is(launcher['TRUNK_REGISTRATION_DB'], `text://${launcherRun}/uacreg`);
  for (const name of REGISTRATION_VARIABLES) {
    assert.not.ok(name in container, `start.sh keeps ${name} from Kamailio`);
    assert.not.ok(name in launcher, `the launcher keeps ${name} from Kamailio`);
  }

  kamailioAccepts({ ...composed }, 'a carrier registration');
  // And without one, start.sh gives Kamailio no table.
  const plain = containerKamailioEnv(env('kamailio'), containerRun);
  assert.not.ok('TRUNK_REGISTRATION_DB' in plain);
  assert.not.ok(existsSync(path.join(containerRun, 'uacreg')), 'a table from an earlier start is removed');
});

test('a bad registration stops both start.sh and the launcher, naming the variable and never showing the password', () => {
  const password = 'pw-never-shown';
  const cases: Array<[Record<string, string>, string]> = [
    [{ TRUNK_USERNAME: '4930', TRUNK_PASSWORD: password }, 'TRUNK_REGISTRAR'],
    [{ TRUNK_REGISTRAR: 'sip.carrier.example', TRUNK_USERNAME: '4930', TRUNK_PASSWORD: password }, 'TRUNK_REGISTRAR'],
    [{ TRUNK_REGISTRAR: '203.0.113.10', TRUNK_USERNAME: '49 30', TRUNK_PASSWORD: password }, 'TRUNK_USERNAME'],
    [
      { TRUNK_REGISTRAR: '203.0.113.10', TRUNK_USERNAME: '4930', TRUNK_PASSWORD: password, TRUNK_AUTH_USERNAME: 'a"b' },
      'TRUNK_AUTH_USERNAME',
    ],
    [
      {
        TRUNK_REGISTRAR: '203.0.113.10',
        TRUNK_USERNAME: '4930',
        TRUNK_PASSWORD: password,
        TRUNK_REGISTER_EXPIRES: '5',
      },
      'TRUNK_REGISTER_EXPIRES',
    ],
    [
      { TRUNK_REGISTRAR: '203.0.113.10', TRUNK_USERNAME: '4930', TRUNK_PASSWORD: `${password}\nsecond line` },
      'TRUNK_PASSWORD',
    ],
  ];
  for (const [values, name] of cases) {
    const runDir = mkdtempSync(path.join(tmp, 'bad-'));
    const run = spawnSync(START_SH, ['--write-registration-db', runDir], {
      env: { PATH: process.env['PATH'], ...values },
      encoding: 'utf8',
    });
    assert.is(run.status, 64, `start.sh refuses ${name}`);
    assert.match(run.stderr, name);
    assert.not.ok(`${run.stdout}${run.stderr}`.includes(password), 'start.sh does not show the password');
    assert.throws(
      () => launcherConfig(values),
      (err: Error) => err.message.includes(name) && !err.message.includes(password),
    );
  }
});

/** `kamailio -c` through deploy/kamailio/start.sh (the container's entrypoint) accepts the config with `env`. */
function kamailioAccepts(env: Record<string, string>, what: string, expectInOutput: string[] = []): void {
  const runDir = mkdtempSync(path.join(tmp, 'kamailio-'));
  const check = spawnSync(path.join(REPO_ROOT, 'deploy/kamailio/start.sh'), ['-c', '-f', KAMAILIO_CFG, '-Y', runDir], {
    env: { PATH: process.env['PATH'], ...env },
    encoding: 'utf8',
  });
  const errors = check.stderr
    .split('\n')
    .filter((l) => /ERROR|CRITICAL/.test(l))
    .join('\n');
  assert.is(check.status, 0, `kamailio -c with ${what}:\n${errors}`);
  for (const text of expectInOutput)
    assert.ok(`${check.stdout}${check.stderr}`.includes(text), `kamailio -c with ${what} lists "${text}"`);
}

/** The variables the launcher reads, found by watching which names readLaunchConfig() asks for. */
function launcherVariables(): string[] {
  const asked = new Set<string>();
  const watched = new Proxy(
    { SIP_EPHEMERAL_SECRET: SECRETS.SIP_EPHEMERAL_SECRET },
    {
      get(target, key) {
        if (typeof key === 'string') asked.add(key);
        return Reflect.get(target, key) as unknown;
      },
    },
  );
  readLaunchConfig(watched);
  return sorted(asked);
}

test('signaling and the sip app: compose sets only variables their schemas read, every schema variable is set or deliberately defaulted, and the values load', () => {
  for (const [name, schema, load] of [
    ['signaling', SignalingSchema, loadSignalingConfig],
    ['sip', SipSchema, loadSipConfig],
  ] as const) {
    const known = Object.keys(schema.properties);
    const composed = env(name);
    for (const key of Object.keys(composed)) assert.ok(known.includes(key), `${name}'s config has no ${key} (a typo?)`);
    const defaulted = raw['x-deskline-defaulted'][name];
    for (const key of known)
      assert.ok(
        key in composed || key in defaulted,
        `${name}'s ${key} is neither set in docker-compose.yml nor listed under x-deskline-defaulted.${name}`,
      );
    for (const key of Object.keys(defaulted))
      assert.ok(known.includes(key) && !(key in composed), `x-deskline-defaulted.${name}.${key} is stale`);
    load(composed);
  }
  const signaling = loadSignalingConfig(env('signaling'));
  assert.is(signaling.PUBLIC_ORIGIN, 'https://phones.clinic.example');
  assert.is(signaling.SIP_WS_URL, 'wss://phones.clinic.example/sip');
  assert.is(signaling.COOKIE_SECURE, true);
  assert.is(signaling.TRUST_PROXY, true);
  assert.is(signaling.TURN_URLS, undefined, 'no TURN unless configured');
  assert.is(signaling.SESSION_IDLE_MINUTES, 480, "an empty variable is the code's default");
  assert.equal(loadSipConfig(env('sip')).CLINIC_NUMBERS, ['100', '101']);
});

test('every variable the launcher reads or gives a service is in the compose file, or deliberately left out', () => {
  const referenced = new Set([...rawText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] ?? ''));
  for (const s of Object.values(raw.services)) for (const key of Object.keys(s.environment ?? {})) referenced.add(key);
  const defaulted = raw['x-deskline-defaulted'].launcher;
  for (const name of launcherVariables()) {
    assert.ok(
      referenced.has(name) || name in defaulted,
      `the launcher reads ${name}; docker-compose.yml neither uses it nor lists it under x-deskline-defaulted.launcher`,
    );
  }
  // What the launcher sets for each Node service, compose sets for it too.
  const config = launcherConfig();
  for (const definition of serviceDefinitions(config).filter((d) => d.name === 'sip' || d.name === 'signaling')) {
    const given = definition.prepare().env ?? {};
    for (const key of Object.keys(given).filter((k) => !(k in config.env))) {
      assert.ok(key in env(definition.name), `the launcher gives ${definition.name} ${key}; compose does not`);
    }
  }
});

test("a stop of the sip service leaves the calls to the next instance; the launcher's Ctrl-C ends them", () => {
  // Compose restarts the sip app alone (rtpengine keeps the media); the launcher stops rtpengine too.
  assert.is(loadSipConfig(env('sip')).SIP_END_CALLS_ON_STOP, false);
  const launcherSip = serviceDefinitions(launcherConfig()).find((d) => d.name === 'sip');
  assert.is(launcherSip?.prepare().env?.['SIP_END_CALLS_ON_STOP'], 'true');
  // Docker's SIGKILL comes after the app's own 10 s bound on a stop, never in the middle of it.
  const grace = /^(\d+)s$/.exec(service('sip').stop_grace_period ?? '');
  assert.ok(grace && Number(grace[1]) > 10, `stop_grace_period ${service('sip').stop_grace_period}`);
});

test('.env.example documents every variable docker-compose.yml and docker-compose.scale.yml read, and only those', () => {
  const read = new Set([...(rawText + scaleText).matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1] ?? ''));
  const documented = exampleVariables();
  assert.equal(sorted(documented.keys()), sorted(read));
  for (const [name, value] of documented)
    assert.is(value, '', `.env.example gives ${name} a value; it must be filled in or left to the default`);
});

test('docker-compose.scale.yml on top: a replica and three sentinels, and Kamailio, the sip app and signaling find Redis through them', async () => {
  const { stdout } = await composeFiles([COMPOSE_FILE, SCALE_FILE], envFile('scale.env', FILLED), 'config');
  await composeFiles([COMPOSE_FILE, SCALE_FILE], envFile('scale.env', FILLED), 'config', '-q');
  const scaled = parse(stdout) as Compose;
  const of = (name: string): Service => {
    const found = scaled.services[name];
    if (!found) throw new Error(`no service ${name} with docker-compose.scale.yml`);
    return found;
  };
  const sentinels = ['sentinel-1', 'sentinel-2', 'sentinel-3'].map(of);
  for (const s of [of('redis-replica'), ...sentinels]) {
    assert.is(s.network_mode, 'host');
    assert.is(s.restart, 'unless-stopped');
    assert.is(s.build?.dockerfile, 'deploy/redis/Dockerfile');
  }
  // The replica follows redis; the sentinels watch it, on the ports REDIS_SENTINELS lists by default.
  const replica = of('redis-replica').command ?? [];
  assert.equal(replica.slice(replica.indexOf('--replicaof') + 1, replica.indexOf('--replicaof') + 3), [
    '127.0.0.1',
    '6379',
  ]);
  assert.is(argValue(of('redis').command ?? [], '--replica-serve-stale-data'), 'yes');
  const ports = sentinels.map((s) => s.environment?.['SENTINEL_PORT']);
  for (const s of sentinels) {
    assert.is(s.environment?.['SENTINEL_MONITOR'], '127.0.0.1 6379');
    assert.is(s.environment?.['REDIS_PASSWORD'], SECRETS.REDIS_PASSWORD);
  }
  for (const name of ['sip', 'signaling']) {
    const composed = of(name).environment ?? {};
    assert.is(composed['REDIS_SENTINELS'], ports.map((port) => `127.0.0.1:${port}`).join(','));
    assert.is(composed['REDIS_SENTINEL_MASTER'], 'deskline');
  }
  assert.equal(
    loadSipConfig(of('sip').environment ?? {}).REDIS_SENTINELS,
    ports.map((port) => `127.0.0.1:${port}`),
  );
  assert.is(loadSignalingConfig(of('signaling').environment ?? {}).REDIS_SENTINEL_MASTER, 'deskline');
  // Kamailio's spec is the launcher's for the same settings: this server's sentinel (the first), the password.
  const sip = of('sip').environment ?? {};
  const launcher = kamailioEnv({
    ...launcherConfig().sip,
    ephemeralSecret: SECRETS.SIP_EPHEMERAL_SECRET,
    redisUrl: sip['REDIS_URL'] ?? '',
    redisSentinel: { sentinels: (sip['REDIS_SENTINELS'] ?? '').split(','), master: sip['REDIS_SENTINEL_MASTER'] ?? '' },
  });
  assert.is(of('kamailio').environment?.['REDIS_SERVER'], launcher['REDIS_SERVER']);
  kamailioAccepts(of('kamailio').environment ?? {}, "the scale file's environment");
  // No secret written in the scale file either: each comes from .env.
  const scaleRaw = parse(scaleText, { merge: true }) as Compose;
  for (const [name, s] of Object.entries(scaleRaw.services)) {
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      if (/SECRET|PASSWORD/.test(key))
        assert.match(String(value), /^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$/, `${name}.${key} must be \${...} from .env`);
      if (key === 'REDIS_SERVER') assert.match(String(value), /pass=\$\{REDIS_PASSWORD[:}]/);
    }
  }
  // The shipped sentinel script is the one the Sentinel tests run (tests/helpers/redis-sentinel.ts).
  assert.match(
    readFileSync(path.join(REPO_ROOT, 'deploy/redis/Dockerfile'), 'utf8'),
    /COPY deploy\/redis\/sentinel\.sh \/usr\/local\/bin\/deskline-sentinel/,
  );
  assert.ok(
    sentinels.every((s) => JSON.stringify(s).includes('/usr/local/bin/deskline-sentinel')),
    'each sentinel runs deploy/redis/sentinel.sh',
  );
});

test('no secret is written in the compose file: each comes from .env', () => {
  const secretLike = /SECRET|PASSWORD|TOKEN|CREDENTIAL|_KEY$/;
  for (const [name, s] of Object.entries(raw.services)) {
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      if (secretLike.test(key))
        assert.match(String(value), /^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$/, `${name}.${key} must be \${...} from .env`);
    }
    for (const key of ['REDIS_URL', 'REDIS_SERVER']) {
      const value = s.environment?.[key];
      if (value !== undefined)
        assert.match(value, /\$\{REDIS_PASSWORD[:}]/, `${name}.${key} takes the password from .env`);
    }
  }
  // Nothing that looks like a key or a hash outside ${...}.
  const withoutInterpolations = rawText.replace(/\$\{[^}]*\}/g, '');
  assert.not.match(withoutInterpolations, /\b[0-9a-f]{32,}\b/i);
  assert.not.match(withoutInterpolations, /[A-Za-z0-9+]{32,}={0,2}/);
  // And the secrets given in .env reach the resolved file only where they belong.
  const resolvedText = JSON.stringify(resolved);
  assert.ok(resolvedText.includes(SECRETS.SIP_EPHEMERAL_SECRET));
  for (const [name, s] of Object.entries(resolved.services)) {
    const holds = JSON.stringify(s).includes(SECRETS.SIP_EPHEMERAL_SECRET);
    assert.is(holds, name === 'kamailio' || name === 'signaling', `${name} gets the SIP secret`);
  }
});

test('every service has a healthcheck, and every depends_on waits for its dependency to be healthy', () => {
  for (const [name, s] of Object.entries(resolved.services)) {
    assert.ok(s.healthcheck?.test?.length, `${name} has a healthcheck`);
    for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {})) {
      assert.is(condition, 'service_healthy', `${name} waits for ${dependency}`);
      assert.ok(resolved.services[dependency]?.healthcheck, `${dependency} has a healthcheck`);
    }
  }
  const dependsOn = (name: string): string[] => sorted(Object.keys(service(name).depends_on ?? {}));
  assert.equal(dependsOn('kamailio'), ['redis']);
  assert.equal(dependsOn('sip'), ['kamailio', 'redis', 'rtpengine']);
  assert.equal(dependsOn('signaling'), ['redis']);
  assert.equal(dependsOn('caddy'), ['kamailio', 'signaling']);
  // The healthchecks ask the ports the services were given.
  assert.equal(service('kamailio').healthcheck?.test.slice(-2), ['127.0.0.1', '5060']);
  assert.equal(service('rtpengine').healthcheck?.test.slice(-2), ['127.0.0.1', '22222']);
  assert.equal(service('sip').healthcheck?.test.slice(-2), [env('sip')['SIP_APP_HEALTH_PORT'], '/health']);
  assert.equal(service('signaling').healthcheck?.test.slice(-2), [env('signaling')['PORT'], '/api/health']);
});

test('redis: AOF on, its data in a named volume at its --dir', () => {
  const args = service('redis').command ?? [];
  assert.is(argValue(args, '--appendonly'), 'yes');
  const dir = argValue(args, '--dir') ?? '';
  const source = mountedAt('redis', dir);
  assert.ok(source && !source.startsWith('/'), `a named volume at ${dir}, not a bind mount (${source})`);
  assert.ok(Object.keys(resolved.volumes ?? {}).includes(source), `${source} is declared under volumes`);
  assert.not.ok('caddy-data' === source);
});

test('Caddy: the Caddyfile serves the app and /sip on PUBLIC_HOSTNAME, and its health site is on the loopback port the healthcheck reads', () => {
  const caddyfile = mountedAt('caddy', '/etc/caddy/Caddyfile');
  assert.is(caddyfile, path.join(REPO_ROOT, 'deploy/caddy/Caddyfile'));
  const adapt = (extra: Record<string, string>) =>
    spawnSync('caddy', ['adapt', '--config', caddyfile ?? '', '--adapter', 'caddyfile'], {
      env: { PATH: process.env['PATH'], HOME: tmp, ...env('caddy'), ...extra },
      encoding: 'utf8',
    });
  const result = adapt({});
  assert.is(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout) as {
    admin: { listen: string };
    apps: { http: { servers: Record<string, { listen: string[] }> } };
  };
  assert.is(json.admin.listen, '127.0.0.1:2019', 'the admin API stays on the loopback');
  const [host, port] = service('caddy').healthcheck?.test.slice(-3, -1) ?? [];
  const listens = Object.values(json.apps.http.servers).map((s) => s.listen);
  assert.ok(
    listens.some((l) => l.length === 1 && l[0] === `${host}:${port}`),
    `a server listens on ${host}:${port} only: ${JSON.stringify(listens)}`,
  );
  const server = JSON.stringify(json);
  assert.ok(server.includes('"host":["phones.clinic.example"]'), server);
  assert.ok(
    server.includes('{"path":["/sip"]}') && server.includes('"dial":"127.0.0.1:5066"'),
    "wss /sip goes to Kamailio's WebSocket",
  );
  assert.ok(server.includes('"dial":"127.0.0.1:8080"'), 'the rest goes to signaling');
  for (const tls of ['tls internal', 'tls /etc/caddy/certs/cert.pem /etc/caddy/certs/key.pem']) {
    const other = adapt({ CADDY_TLS: tls });
    assert.is(other.status, 0, `CADDY_TLS=${tls}: ${other.stderr}`);
  }
});

/** A Dockerfile's instructions, continuation lines joined. */
function instructions(file: string): Array<{ op: string; args: string }> {
  return readFileSync(file, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

test('Dockerfiles: Debian 12 (bookworm) bases, every file they COPY exists, tini as PID 1, and not root', () => {
  const built = Object.entries(resolved.services).filter(([, s]) => s.build);
  assert.is(built.length, Object.keys(resolved.services).length, 'every image is built from this repository');
  const workspaces = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
  ).workspaces;
  for (const [name, s] of built) {
    const build = s.build ?? { context: '', dockerfile: '' };
    assert.is(build.context, REPO_ROOT, `${name} builds from the repository root`);
    const file = path.join(build.context, build.dockerfile);
    assert.ok(existsSync(file), `${name}: ${build.dockerfile} exists`);
    const steps = instructions(file);
    const stages: string[] = [];
    for (const { op, args } of steps) {
      if (op === 'FROM') {
        const [image = '', as, stage] = args.split(/\s+/);
        assert.match(image, /^(node:26-bookworm-slim|debian:bookworm-slim)$/, `${build.dockerfile}: FROM ${image}`);
        if (as?.toUpperCase() === 'AS' && stage) stages.push(stage);
      }
      if (op === 'COPY' && !args.startsWith('--from=')) {
        const sources = args.split(/\s+/).slice(0, -1);
        for (const source of sources)
          assert.ok(existsSync(path.join(build.context, source)), `${build.dockerfile}: COPY ${source} exists`);
      }
    }
    const last = steps.slice(steps.map((s) => s.op).lastIndexOf('FROM'));
    const user = last.filter((s) => s.op === 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `${build.dockerfile}: the image runs as ${user ?? 'root'}`);
    const entrypoint = last.find((s) => s.op === 'ENTRYPOINT')?.args ?? '';
    assert.match(entrypoint, /^\["\/usr\/bin\/tini", "--"/, `${build.dockerfile}: tini is PID 1`);
    if (build.dockerfile === 'deploy/node/Dockerfile') {
      for (const workspace of workspaces) {
        assert.ok(
          steps.some((s) => s.op === 'COPY' && s.args === `${workspace}/package.json ${workspace}/`),
          `npm ci needs ${workspace}/package.json`,
        );
      }
    }
  }
  const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['**/node_modules', '.env', 'var'])
    assert.ok(ignored.includes(entry), `.dockerignore has ${entry}`);
});

/** A Dockerfile's stages: the instructions from each FROM to the next. */
function stages(file: string): Array<Array<{ op: string; args: string }>> {
  const result: Array<Array<{ op: string; args: string }>> = [];
  for (const step of instructions(file)) {
    if (step.op === 'FROM') result.push([]);
    result.at(-1)?.push(step);
  }
  return result;
}

test('deploy/node/Dockerfile: every stage that runs npm ci can build argon2 from source; the runtime stage has no compiler', () => {
  const all = stages(path.join(REPO_ROOT, 'deploy/node/Dockerfile'));
  const installs = (stage: Array<{ op: string; args: string }>): string[] =>
    stage.filter((s) => s.op === 'RUN' && s.args.includes('apt-get install')).map((s) => s.args);
  const withNpmCi = all.filter((stage) => stage.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args)));
  assert.is(withNpmCi.length, 2, 'build and deps run npm ci');
  for (const stage of withNpmCi) {
    const name = stage[0]?.args ?? '';
    const npmCi = stage.findIndex((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args));
    const tools = stage.slice(0, npmCi).find((s) => s.op === 'RUN' && s.args.includes('apt-get install'))?.args ?? '';
    for (const pkg of ['python3', 'make', 'g++'])
      assert.ok(tools.split(/\s+/).includes(pkg), `${name}: installs ${pkg} before npm ci`);
    assert.match(tools, /apt-get install -y --no-install-recommends /, `${name}: without recommends`);
    assert.match(tools, /rm -rf \/var\/lib\/apt\/lists\/\*$/, `${name}: cleans the apt lists in the same layer`);
  }
  const runtime = all.at(-1) ?? [];
  assert.not.ok(withNpmCi.includes(runtime), 'the runtime stage runs no npm ci');
  for (const args of installs(runtime)) {
    for (const pkg of ['python3', 'make', 'g++', 'gcc', 'build-essential'])
      assert.not.ok(args.split(/\s+/).includes(pkg), `the runtime stage installs ${pkg}`);
  }
});

test.run();
