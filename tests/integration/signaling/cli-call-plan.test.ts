/**
 * `deskline call-plan show|set` (docs/call-plan.md, "For clinic IT"): clinic IT reads the plan as
 * JSON and replaces it from a file, checked as the API checks it; a bad file changes nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { createUser, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test, { CLINIC_TIME_ZONE: 'Europe/Warsaw' });
let env: NodeJS.ProcessEnv;
const dir = mkdtempSync(path.join(tmpdir(), 'cli-call-plan-'));

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl, CLINIC_TIME_ZONE: 'Europe/Warsaw' };
});

function file(name: string, content: unknown): string {
  const where = path.join(dir, name);
  writeFileSync(where, typeof content === 'string' ? content : JSON.stringify(content));
  return where;
}

test('show prints the plan in force as JSON; set replaces it from a file, and the API serves the new one', async () => {
  const shown = await runCli(['call-plan', 'show'], env);
  assert.is(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout), DEFAULT_CALL_PLAN);

  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await fixture.app.users.findByEmail('anna@clinic.example');
  const plan: CallPlan = {
    ...structuredClone(DEFAULT_CALL_PLAN),
    hours: { ...DEFAULT_CALL_PLAN.hours, sat: [], sun: [], mon: [{ start: '08:00', end: '16:00' }] },
    queues: [{ id: 'main', name: 'Reception', digit: null, memberIds: [anna!.id], musicId: null }],
  };
  const set = await runCli(['call-plan', 'set', file('good.json', plan)], env);
  assert.is(set.code, 0, set.stderr);
  assert.match(set.stdout, /^Call plan saved from .*good\.json; the next call follows it\.\n$/);
  assert.equal(await fixture.app.callPlan.get(), plan);
  assert.equal(JSON.parse((await runCli(['call-plan', 'show'], env)).stdout), plan);
});

test('a bad file is refused with its problems and exit 1; the stored plan is unchanged', async () => {
  const overlapping = {
    ...DEFAULT_CALL_PLAN,
    hours: {
      ...DEFAULT_CALL_PLAN.hours,
      mon: [
        { start: '08:00', end: '12:00' },
        { start: '10:00', end: '14:00' },
      ],
    },
    queues: [{ id: 'main', name: 'Reception', digit: null, memberIds: ['ghost'], musicId: null }],
  };
  const refused = await runCli(['call-plan', 'set', file('overlap.json', overlapping)], env);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /was not saved:\n {2}- Monday: 08:00–12:00 and 10:00–14:00 overlap\.\n/);
  assert.match(refused.stderr, /- Queue "Reception": no user has the id "ghost"\./);

  const schema = await runCli(['call-plan', 'set', file('schema.json', { ...DEFAULT_CALL_PLAN, queues: [] })], env);
  assert.is(schema.code, 1);
  assert.match(schema.stderr, /- \/queues: Expected array length to be greater or equal to 1\./);

  const notJson = await runCli(['call-plan', 'set', file('broken.json', '{"hours":')], env);
  assert.is(notJson.code, 1);
  assert.match(notJson.stderr, /^deskline: Cannot read a call plan from .*broken\.json: /);

  const missing = await runCli(['call-plan', 'set', path.join(dir, 'nowhere.json')], env);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /Cannot read a call plan from .*nowhere\.json: ENOENT/);

  const noFile = await runCli(['call-plan', 'set'], env);
  assert.is(noFile.code, 2);
  assert.match(noFile.stderr, /Give one file: deskline call-plan set FILE\.json/);

  assert.equal(await fixture.app.callPlan.get(), DEFAULT_CALL_PLAN, 'nothing stored');
  assert.is(await fixture.db.exists(RedisKeys.callPlan), 0);
});

test.run();
