/**
 * docs/operations.md is followed word for word by clinic IT, so what it names must exist as it names
 * it: every setting it mentions is in .env.example, every service it addresses is in
 * docker-compose.yml, the files and scripts it runs are in the repository or installed by the images,
 * and every `deskline` command it prints is run here, exactly as printed, against a real Redis.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { runCli } from '../../helpers/cli.js';
import {
  CALLERS_WAITING,
  ENGINE_RUN,
  cliLines,
  engineRunBlock,
  guide,
  inlineCommand,
  shellWords,
  type EngineRunStep,
} from '../../helpers/operations-guide.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

const envExample = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, unknown>;
};
/** Docker Compose's own variables, which .env may set but Deskline does not read. */
const COMPOSE_VARIABLES = ['COMPOSE_PROFILES'];
const PASSWORD = 'a long clinic passphrase 2026';

let redis: TestRedis;

test.before(async () => {
  redis = await startTestRedis();
});

test.after(async () => {
  await redis?.stop();
});

test('every setting the guide names is documented in .env.example', () => {
  const names = new Set([...guide.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)(?:=[^`]*)?`/g)].map((m) => m[1] ?? ''));
  assert.ok(names.size >= 15, `the guide names settings (${[...names]})`);
  for (const name of names) {
    if (COMPOSE_VARIABLES.includes(name)) continue;
    assert.match(envExample, new RegExp(`^${name}=`, 'm'), `${name} is in .env.example`);
  }
});

test('every service the guide addresses with docker compose exists in docker-compose.yml', () => {
  const pattern =
    /docker compose (?:exec(?: -T)?|logs(?: -f| --since \S+| --no-log-prefix)*|restart|stop|ps -q) ([a-z]+)/g;
  const named = [...guide.matchAll(pattern)].map((m) => m[1] ?? '');
  assert.ok(named.length >= 20, `the guide addresses services (${named.length})`);
  for (const service of new Set(named))
    assert.ok(service in compose.services, `service ${service} is in docker-compose.yml`);
  for (const service of ['caddy', 'coturn', 'redis', 'signaling', 'sip', 'kamailio', 'rtpengine'])
    assert.ok(named.includes(service), `the guide covers ${service}`);
});

test('the files it runs exist: the release script, and the restore command the redis image installs', () => {
  assert.match(guide, /bash scripts\/release\.sh/);
  assert.ok(readFileSync(path.join(REPO_ROOT, 'scripts/release.sh'), 'utf8').length > 0);
  assert.match(guide, /--entrypoint \/usr\/local\/bin\/deskline-redis-restore redis /);
  assert.match(
    readFileSync(path.join(REPO_ROOT, 'deploy/redis/Dockerfile'), 'utf8'),
    /\/usr\/local\/bin\/deskline-redis-restore/,
  );
  assert.match(guide, /cp \.env\.example \.env/);
});

/** The guide's `deskline` commands, in order, as the container would run them (quotes honoured). */
function cliCommands(): string[][] {
  return cliLines().map(shellWords);
}

test('every deskline command the guide prints runs as printed (a password on standard input, as the guide says for scripts)', async () => {
  const commands = cliCommands();
  assert.ok(commands.length >= 7, `the guide prints commands (${commands.length})`);
  const env = { REDIS_URL: redis.url };
  for (const args of commands) {
    const result = await runCli(args, env, `${PASSWORD}\n`);
    assert.is(result.code, 0, `deskline ${args.join(' ')}:\n${result.stderr}${result.stdout}`);
  }
  const users = await runCli(['user', 'list'], env);
  assert.match(users.stdout, /maria@clinic\.example/);
  assert.match(users.stdout, /anna@clinic\.example/);
  const workstations = await runCli(['workstation', 'list'], env);
  assert.match(workstations.stdout, /Reception 1/);
  assert.match(workstations.stdout, /Front desk phone/);
});

test('the blocks the engine run types (tests/deploy/compose-engine.test.ts) are in the guide, one each, with the examples it replaces', () => {
  for (const step of Object.keys(ENGINE_RUN) as EngineRunStep[]) {
    const block = engineRunBlock(step);
    for (const example of ENGINE_RUN[step].replace)
      assert.ok(block.includes(example), `section ${ENGINE_RUN[step].section}'s ${step} block says ${example}`);
  }
  assert.match(inlineCommand(CALLERS_WAITING.section, CALLERS_WAITING.marker), /^docker compose exec -T redis /);
  // The engine run types `docker-compose` where the guide says `docker compose`, as section 2 allows.
  assert.match(guide, /then type `docker-compose`\s+wherever this guide says `docker compose`/);
});

test.run();
