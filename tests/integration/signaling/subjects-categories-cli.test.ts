/**
 * `deskline subject …` with categories (issue 16): create in a category, move to another, put at a
 * place, and the bad input, through the real command-line tool on the Redis the API reads. The CLI
 * has no users (whoever can reach Redis is the clinic's IT), so the permission checks of these
 * operations are the API's (subjects-categories.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Subject } from '@deskline/protocol';
import { runCli } from '../../helpers/cli.js';
import { useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl };
});

async function layout(): Promise<string[]> {
  return (await fixture.app.subjects.list()).map((s) => `${s.category}: ${s.name}`);
}

test('subject create --category puts the subject last there; list shows each category', async () => {
  const created = await runCli(['subject', 'create', '--name', 'Surgery date', '--category', 'visit-booked'], env);
  assert.is(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created subject "Surgery date" under Visit booked \(id [0-9a-f-]+\)\./);
  const plain = await runCli(['subject', 'create', '--name', 'Prices'], env);
  assert.match(plain.stdout, /under Information/);
  assert.equal(await layout(), [
    'information: Information',
    'information: Prices',
    'visit-booked: Visit booked',
    'visit-booked: Surgery date',
    'visit-not-booked: Visit not booked',
  ]);
  const listed = await runCli(['subject', 'list'], env);
  assert.match(listed.stdout, /^Visit booked\s+Surgery date\s+active /m);
  const json = JSON.parse((await runCli(['subject', 'list', '--json'], env)).stdout) as Subject[];
  assert.equal(json, await fixture.app.subjects.list({ all: true }));
});

test('subject move --position reorders within the category; --category moves to another', async () => {
  await runCli(['subject', 'create', '--name', 'Prices'], env);
  await runCli(['subject', 'create', '--name', 'Opening hours'], env);
  const first = await runCli(['subject', 'move', '--name', 'opening HOURS', '--position', '1'], env);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /"Opening hours" is under Information, place 1\./);
  assert.equal((await layout()).slice(0, 3), [
    'information: Opening hours',
    'information: Information',
    'information: Prices',
  ]);
  const moved = await runCli(
    ['subject', 'move', '--name', 'Prices', '--category', 'visit-not-booked', '--position', '1'],
    env,
  );
  assert.is(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /"Prices" is under Visit not booked, place 1\./);
  assert.equal(await layout(), [
    'information: Opening hours',
    'information: Information',
    'visit-booked: Visit booked',
    'visit-not-booked: Prices',
    'visit-not-booked: Visit not booked',
  ]);
});

test('bad input: unknown category, place out of range, nothing to do, unknown or retired subject, duplicate name', async () => {
  const before = await fixture.app.subjects.list({ all: true });
  const cases: [string[], number, RegExp][] = [
    [
      ['subject', 'create', '--name', 'X', '--category', 'other'],
      2,
      /--category must be one of information, visit-booked, visit-not-booked\./,
    ],
    [['subject', 'move', '--name', 'Information', '--category', 'Visit booked'], 2, /--category must be one of/],
    [['subject', 'move', '--name', 'Information', '--position', '2'], 2, /--position must be 1 to 1 in Information\./],
    [['subject', 'move', '--name', 'Information', '--position', '0'], 2, /--position must be 1 to 1 in Information\./],
    [['subject', 'move', '--name', 'Information', '--position', 'first'], 2, /--position must be a whole number\./],
    [['subject', 'move', '--name', 'Information'], 2, /Give --category, --position or both\./],
    [['subject', 'move', '--name', 'Nothing', '--position', '1'], 1, /No subject named "Nothing"\./],
    [
      ['subject', 'create', '--name', 'visit booked', '--category', 'information'],
      1,
      /A subject named "Visit booked" already exists under Visit booked\./,
    ],
  ];
  for (const [args, code, message] of cases) {
    const result = await runCli(args, env);
    assert.is(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.equal(await fixture.app.subjects.list({ all: true }), before);

  await runCli(['subject', 'retire', '--name', 'Information'], env);
  const retired = await runCli(['subject', 'move', '--name', 'Information', '--position', '1'], env);
  assert.is(retired.code, 2);
  assert.match(retired.stderr, /"Information" is retired: restore it before giving it a place\./);
});

test.run();
