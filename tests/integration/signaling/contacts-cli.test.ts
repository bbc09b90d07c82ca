import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Contact } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { useFreshApp } from '../../helpers/signaling.js';

// The CLI runs as the clinic's IT, with no user: it has every operation (the API's employee 403s
// are in contacts.test.ts). CLINIC_COUNTRY is PL, the default.
const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;
const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-contacts-cli-'));

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl };
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

const listJson = async (): Promise<Contact[]> => {
  const result = await runCli(['contact', 'list', '--json'], env);
  assert.is(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Contact[];
};

test('contact add, list, edit and delete: the number in any spelling, the same contact as the API sees', async () => {
  const added = await runCli(
    ['contact', 'add', '--number', '601 234 567', '--name', 'Zofia Nowak', '--note', 'mornings'],
    env,
  );
  assert.is(added.code, 0, added.stderr);
  assert.is(added.stdout, 'Added contact +48601234567: Zofia Nowak.\n');
  assert.equal(await listJson(), await fixture.app.contacts.list());
  const text = await runCli(['contact', 'list'], env);
  assert.is(text.stdout, '+48601234567      Zofia Nowak  (mornings)\n');

  const duplicate = await runCli(['contact', 'add', '--number', '0048601234567', '--name', 'Other'], env);
  assert.is(duplicate.code, 1);
  assert.match(duplicate.stderr, /\+48601234567 is already a contact \(Zofia Nowak\)/);

  const edited = await runCli(['contact', 'edit', '--number', '+48 601 234 567', '--name', 'Zofia Nowakowska'], env);
  assert.is(edited.code, 0, edited.stderr);
  assert.equal(
    (await listJson()).map((c) => [c.number, c.name, c.note]),
    [['+48601234567', 'Zofia Nowakowska', 'mornings']],
  );

  const deleted = await runCli(['contact', 'delete', '--number', '601234567'], env);
  assert.is(deleted.code, 0, deleted.stderr);
  assert.is(deleted.stdout, 'Deleted contact +48601234567.\n');
  assert.equal(await listJson(), []);
  const again = await runCli(['contact', 'delete', '--number', '601234567'], env);
  assert.is(again.code, 1);
  assert.match(again.stderr, /\+48601234567 is not a contact\./);
});

test('contact add refuses a number it cannot read and an empty name, naming them', async () => {
  const number = await runCli(['contact', 'add', '--number', 'front desk', '--name', 'X'], env);
  assert.is(number.code, 1);
  assert.match(number.stderr, /"front desk" is not a phone number/);
  const name = await runCli(['contact', 'add', '--number', '601234567', '--name', ' '], env);
  assert.is(name.code, 1);
  assert.match(name.stderr, /The name is empty/);
  const edit = await runCli(['contact', 'edit', '--number', '601234567'], env);
  assert.is(edit.code, 2);
  assert.match(edit.stderr, /Give --name or --note/);
  assert.is(await fixture.db.hlen(RedisKeys.contacts), 0);
});

test('contact import: --dry-run says what it would do; a file with a bad line stores nothing and names the line; a good one goes in', async () => {
  await fixture.app.contacts.create({ number: '+48601000001', name: 'Old Name' });
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, 'number,name\n601000001,New Name\n601000002,Ewa\nnope,Adam\n');
  const refused = await runCli(['contact', 'import', bad], env);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /Nothing was imported: 1 line\(s\) cannot be taken/);
  assert.match(refused.stderr, /line 4: "nope" is not a phone number/);
  assert.equal(
    (await listJson()).map((c) => c.name),
    ['Old Name'],
  );

  const good = path.join(dir, 'good.csv');
  writeFileSync(good, 'number,name\n601000001,New Name\n601000002,Ewa\n');
  const dry = await runCli(['contact', 'import', good, '--dry-run'], env);
  assert.is(dry.code, 0, dry.stderr);
  assert.is(dry.stdout, `Would import ${good}: 1 new, 1 changed, 0 unchanged.\n`);
  assert.is(await fixture.db.hlen(RedisKeys.contacts), 1);
  const imported = await runCli(['contact', 'import', good], env);
  assert.is(imported.code, 0, imported.stderr);
  assert.is(imported.stdout, `Imported ${good}: 1 new, 1 changed, 0 unchanged.\n`);
  assert.equal(
    (await listJson()).map((c) => [c.number, c.name]),
    [
      ['+48601000002', 'Ewa'],
      ['+48601000001', 'New Name'],
    ],
  );

  const latin1 = path.join(dir, 'latin1.csv');
  writeFileSync(latin1, Buffer.from('601000003,Józef\n', 'latin1'));
  const encoding = await runCli(['contact', 'import', latin1], env);
  assert.is(encoding.code, 1);
  assert.match(encoding.stderr, /not UTF-8 text/);
  const huge = path.join(dir, 'huge.csv');
  writeFileSync(huge, Buffer.alloc(3 * 1024 * 1024, 'a'));
  const tooBig = await runCli(['contact', 'import', huge], env);
  assert.is(tooBig.code, 1);
  assert.match(tooBig.stderr, /larger than 2 MB/);
  assert.is(await fixture.db.hlen(RedisKeys.contacts), 2);
});

test('contact export writes the CSV, formula cells escaped, to the standard output or a file', async () => {
  await fixture.app.contacts.create({ number: '601234567', name: '=cmd|calc', note: '+1' });
  const out = await runCli(['contact', 'export'], env);
  assert.is(out.code, 0, out.stderr);
  assert.is(out.stdout, "\uFEFFnumber,name,note\r\n'+48601234567,'=cmd|calc,'+1\r\n");
  const file = path.join(dir, 'out.csv');
  const toFile = await runCli(['contact', 'export', file], env);
  assert.is(toFile.code, 0, toFile.stderr);
  assert.is(toFile.stdout, `Exported 1 contact(s) to ${file}.\n`);
  assert.is(readFileSync(file, 'utf8'), out.stdout);
});

test('patient forget deletes the contact, given a national spelling', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowak' });
  const result = await runCli(['patient', 'forget', '601 234 567'], env);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /removed contact: \+48601234567/);
  assert.equal(await listJson(), []);
});

test.run();
