import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import {
  CONTACTS_MAX,
  CSRF_HEADER,
  SESSION_COOKIE,
  type ApiError,
  type Contact,
  type ContactImportResult,
  type ContactLookup,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { forgetPatient } from '@deskline/signaling/services/patient-forget';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

// CLINIC_COUNTRY is PL (the default): national numbers are Polish.
const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

/** A request whose body is the file's bytes, as the web app's import sends it. */
function upload(who: LoggedIn, url: string, bytes: Buffer | string): Promise<LightMyRequestResponse> {
  return fixture.app.inject({
    method: 'POST',
    url,
    cookies: { [SESSION_COOKIE]: who.cookie },
    headers: { [CSRF_HEADER]: who.info.csrfToken, 'content-type': 'text/csv' },
    payload: bytes,
  });
}

async function list(who: LoggedIn = anna): Promise<Contact[]> {
  const response = await asUser(fixture.app, who, 'GET', '/api/contacts');
  assert.is(response.statusCode, 200, response.body);
  return response.json<Contact[]>();
}

const stored = async (): Promise<Record<string, string>> => fixture.db.hgetall(RedisKeys.contacts);

/** A CSV of `count` contacts (+48 601 000 000 onwards), with a header line. */
function bigCsv(count: number, bad: ReadonlyMap<number, string> = new Map()): string {
  const lines = ['number,name,note'];
  for (let i = 0; i < count; i++) {
    const line = lines.length + 1;
    lines.push(
      bad.get(line) ??
        `601 ${String(i)
          .padStart(6, '0')
          .replace(/(\d{3})(\d{3})/, '$1 $2')},Patient ${i},`,
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

test('contacts API: an employee adds a contact in a national spelling; it is stored in E.164 and everyone lists it', async () => {
  const added = await asUser(fixture.app, anna, 'POST', '/api/contacts', {
    number: '601 234 567',
    name: '  Zofia   Nowak ',
    note: 'prefers mornings',
  });
  assert.is(added.statusCode, 201, added.body);
  const contact = added.json<Contact>();
  assert.equal(
    { ...contact, updatedAt: 0 },
    {
      number: '+48601234567',
      name: 'Zofia Nowak',
      note: 'prefers mornings',
      updatedAt: 0,
    },
  );
  assert.equal(await list(maria), [contact]);
  assert.equal(await list(anna), [contact]);
  assert.equal(Object.keys(await stored()), ['+48601234567']);

  // The same number in another spelling is the same contact.
  const again = await asUser(fixture.app, anna, 'POST', '/api/contacts', { number: '0048601234567', name: 'Other' });
  assert.is(again.statusCode, 409, again.body);
  assert.match(again.json<ApiError>().message, /\+48601234567 is already a contact \(Zofia Nowak\)/);
});

test('contacts API: an employee edits a name and a note, the number in the path in any spelling; an absent field is kept', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowk' });
  for (const [path, body, expected] of [
    ['/api/contacts/%2B48601234567', { name: 'Zofia Nowak' }, { name: 'Zofia Nowak', note: '' }],
    ['/api/contacts/601234567', { note: 'deaf in one ear' }, { name: 'Zofia Nowak', note: 'deaf in one ear' }],
    ['/api/contacts/0048601234567', { note: '' }, { name: 'Zofia Nowak', note: '' }],
  ] as const) {
    const response = await asUser(fixture.app, anna, 'PATCH', path, body);
    assert.is(response.statusCode, 200, `${path}: ${response.body}`);
    assert.equal({ ...response.json<Contact>(), updatedAt: 0 }, { number: '+48601234567', ...expected, updatedAt: 0 });
  }
  const missing = await asUser(fixture.app, anna, 'PATCH', '/api/contacts/601999999', { name: 'Nobody' });
  assert.is(missing.statusCode, 404, missing.body);
  assert.is(missing.json<ApiError>().message, '+48601999999 is not a contact.');
  assert.not.ok('+48601999999' in (await stored()), 'an edit does not create a contact');
});

test('contacts API: bad input is refused with a message naming it, and nothing is stored', async () => {
  for (const [body, message] of [
    [{ number: 'call me maybe', name: 'X' }, /"call me maybe" is not a phone number/],
    [{ number: '12', name: 'X' }, /"12" is not a phone number/],
    [{ number: '=1+2', name: 'X' }, /is not a phone number/],
    [{ number: '601234567', name: '   ' }, /The name is empty/],
    [{ number: '601234567', name: 'x'.repeat(81) }, /longer than 80 characters/],
    [{ number: '601234567', name: 'Bell\u0007' }, /control characters/],
    [{ number: '601234567', name: 'X', note: 'n'.repeat(501) }, /longer than 500 characters/],
    [{ number: '601234567', name: 'X', role: 'manager' }, /must NOT have additional properties/],
    [{ number: '601234567' }, /must have required property 'name'/],
  ] as const) {
    const response = await asUser(fixture.app, anna, 'POST', '/api/contacts', body);
    assert.is(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`);
    assert.match(response.json<ApiError>().message, message);
  }
  assert.equal(await stored(), {});
});

test('contacts API: delete is for managers: an employee gets 403 and the contact stays; a manager deletes it', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowak' });
  const refused = await asUser(fixture.app, anna, 'DELETE', '/api/contacts/%2B48601234567');
  assert.is(refused.statusCode, 403, refused.body);
  assert.is(refused.json<ApiError>().message, 'Only a manager may do this.');
  assert.equal((await list()).length, 1);
  const deleted = await asUser(fixture.app, maria, 'DELETE', '/api/contacts/601-234-567');
  assert.is(deleted.statusCode, 204, deleted.body);
  assert.equal(await list(), []);
  const again = await asUser(fixture.app, maria, 'DELETE', '/api/contacts/%2B48601234567');
  assert.is(again.statusCode, 404, again.body);
});

test('contacts API: the lookup finds names for numbers as the trunk spells them, and skips what is no number', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowak' });
  await fixture.app.contacts.create({ number: '+4930123456', name: 'Hans Berlin' });
  const response = await asUser(fixture.app, anna, 'POST', '/api/contacts/lookup', {
    numbers: ['601234567', '0048601234567', '+4930123456', '602000000', 'anonymous', ''],
  });
  assert.is(response.statusCode, 200, response.body);
  const found = response.json<ContactLookup>();
  assert.equal(
    found.map(({ asked, contact }) => [asked, contact.name]),
    [
      ['601234567', 'Zofia Nowak'],
      ['0048601234567', 'Zofia Nowak'],
      ['+4930123456', 'Hans Berlin'],
    ],
  );
  const tooMany = await asUser(fixture.app, anna, 'POST', '/api/contacts/lookup', {
    numbers: Array.from({ length: 501 }, (_, i) => `60100${i}`),
  });
  assert.is(tooMany.statusCode, 400, tooMany.body);
});

test('contacts import: a 1,000-line file with 3 bad lines is previewed line by line, refused whole (422), and stores nothing', async () => {
  await fixture.app.contacts.create({ number: '+48601000005', name: 'Kept As Is' });
  const bad = new Map([
    [12, '601 000 010,,no name'],
    [500, 'not a number,Someone,'],
    [901, '601 000 001,Twice,'],
  ]);
  const csv = bigCsv(1000, bad);
  const preview = await upload(maria, '/api/contacts/import/preview', csv);
  assert.is(preview.statusCode, 200, preview.body);
  const result = preview.json<ContactImportResult>();
  assert.equal(result.problems, [
    { line: 12, message: 'the name is empty' },
    { line: 500, message: '"not a number" is not a phone number' },
    { line: 901, message: '+48601000001 is also on line 3' },
  ]);
  assert.is(result.imported, false);
  assert.is(result.added + result.updated, 997);
  assert.equal(result.sample[0], {
    number: '+48601000000',
    name: 'Patient 0',
    note: '',
    updatedAt: result.sample[0]!.updatedAt,
  });

  const refused = await upload(maria, '/api/contacts/import', csv);
  assert.is(refused.statusCode, 422, refused.body);
  const body = refused.json<ApiError & { problems: unknown[] }>();
  assert.match(body.message, /Nothing was imported: 3 line\(s\) cannot be taken/);
  assert.is(body.problems.length, 3);
  assert.equal(Object.keys(await stored()), ['+48601000005'], 'nothing stored, nothing lost');
  assert.is((await fixture.app.contacts.get('601000005'))?.name, 'Kept As Is');

  // Fixed, it goes in whole, and the existing contact takes the file's name.
  const fixed = await upload(maria, '/api/contacts/import', bigCsv(1000));
  assert.is(fixed.statusCode, 200, fixed.body);
  const imported = fixed.json<ContactImportResult>();
  assert.equal([imported.imported, imported.added, imported.updated, imported.unchanged], [true, 999, 1, 0]);
  assert.is(await fixture.db.hlen(RedisKeys.contacts), 1000);
  assert.is((await fixture.app.contacts.get('601000005'))?.name, 'Patient 5');
  // Again: nothing changes.
  const again = (await upload(maria, '/api/contacts/import', bigCsv(1000))).json<ContactImportResult>();
  assert.equal([again.added, again.updated, again.unchanged], [0, 0, 1000]);
});

test('contacts import: UTF-8 with a BOM, semicolons and quotes is read; UTF-16, Latin-1 and binary are refused with how to fix it', async () => {
  const ok = await upload(
    maria,
    '/api/contacts/import',
    Buffer.from('\uFEFFnumber;name;note\r\n601 234 567;"Łucja Żółw; née Kot";"line ""one"""\r\n', 'utf8'),
  );
  assert.is(ok.statusCode, 200, ok.body);
  assert.equal(
    (await list()).map((c) => [c.number, c.name, c.note]),
    [['+48601234567', 'Łucja Żółw; née Kot', 'line "one"']],
  );
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('601234568,Anna\r\n', 'utf16le')]);
  const latin1 = Buffer.from('601234568,Józef\r\n', 'latin1');
  const binary = Buffer.from([0x36, 0x30, 0x31, 0x00, 0x01, 0x02]);
  for (const [bytes, message] of [
    [utf16, /The file is UTF-16\. Save it as "CSV UTF-8"/],
    [latin1, /not UTF-8 text \(perhaps Latin-1 or Windows-1252\)/],
    [binary, /not a text file/],
    [Buffer.alloc(0), /Choose a CSV file/],
  ] as const) {
    for (const url of ['/api/contacts/import/preview', '/api/contacts/import']) {
      const response = await upload(maria, url, bytes);
      assert.is(response.statusCode, 400, `${url}: ${response.body}`);
      assert.match(response.json<ApiError>().message, message);
    }
  }
  assert.is(await fixture.db.hlen(RedisKeys.contacts), 1, 'the first import is all there is');
});

test('contacts import: a 10 MB file is refused (413) before it is read, and a 100,000-line one by its line count', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowak' });
  const huge = await upload(maria, '/api/contacts/import', Buffer.alloc(10 * 1024 * 1024, 'a'));
  assert.is(huge.statusCode, 413, huge.body);
  assert.match(huge.json<ApiError>().message, /The file is larger than 2 MB/);
  const many = await upload(maria, '/api/contacts/import', '601000000,A\n'.repeat(100_000));
  assert.is(many.statusCode, 400, many.body);
  assert.is(
    many.json<ApiError>().message,
    `The file has more than ${CONTACTS_MAX} lines; Deskline keeps at most ${CONTACTS_MAX} contacts.`,
  );
  assert.equal(Object.keys(await stored()), ['+48601234567']);
});

test('contacts import, export and delete are for managers: an employee gets 403 and nothing changes', async () => {
  await fixture.app.contacts.create({ number: '+48601234567', name: 'Zofia Nowak' });
  for (const url of ['/api/contacts/import/preview', '/api/contacts/import']) {
    const response = await upload(anna, url, '602000000,Mallory\n');
    assert.is(response.statusCode, 403, `${url}: ${response.body}`);
  }
  const exported = await asUser(fixture.app, anna, 'GET', '/api/contacts/export');
  assert.is(exported.statusCode, 403, exported.body);
  assert.not.ok(exported.body.includes('Zofia'));
  assert.equal(Object.keys(await stored()), ['+48601234567']);
});

test('contacts export: a CSV download with every cell a spreadsheet would run escaped; importing it again changes nothing', async () => {
  await fixture.app.contacts.create({ number: '601234567', name: "=cmd|' /C calc'!A0", note: '@SUM(1+1)' });
  await fixture.app.contacts.create({ number: '602000000', name: 'Anna, "the" Kowalska', note: '-2+3' });
  const response = await asUser(fixture.app, maria, 'GET', '/api/contacts/export');
  assert.is(response.statusCode, 200, response.body);
  assert.is(response.headers['content-type'], 'text/csv; charset=utf-8');
  assert.is(response.headers['content-disposition'], 'attachment; filename="contacts.csv"');
  assert.is(
    response.body,
    [
      '\uFEFFnumber,name,note',
      `'+48601234567,'=cmd|' /C calc'!A0,'@SUM(1+1)`,
      `'+48602000000,"Anna, ""the"" Kowalska",'-2+3`,
      '',
    ].join('\r\n'),
  );
  const reimport = await upload(maria, '/api/contacts/import', response.rawPayload);
  assert.is(reimport.statusCode, 200, reimport.body);
  const result = reimport.json<ContactImportResult>();
  assert.equal([result.added, result.updated, result.unchanged, result.problems], [0, 0, 2, []]);
  assert.is((await fixture.app.contacts.get('601234567'))?.name, "=cmd|' /C calc'!A0");
});

test('patient forget deletes the contact, given the number in any spelling', async () => {
  await fixture.app.contacts.create({ number: '601234567', name: 'Zofia Nowak' });
  await fixture.app.contacts.create({ number: '602000000', name: 'Stays' });
  const report = await forgetPatient(fixture.db, '601 234 567', undefined, fixture.app.contacts);
  assert.ok(report.removed.includes('contact: +48601234567'), report.removed.join('\n'));
  assert.equal(
    (await list()).map((c) => c.name),
    ['Stays'],
  );
});

test.run();
