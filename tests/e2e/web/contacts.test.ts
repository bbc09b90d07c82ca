/**
 * Contacts (issue 16, item 5) in Chromium against the real stack: Maria, a manager, imports a
 * 1,000-line CSV whose 3 bad lines the preview names by line (nothing is imported until they are
 * fixed); a call from one of its numbers then shows the patient's name on Anna's ring (the sip app's
 * INVITE display name, through Kamailio) and on the call board's card. Anna, an employee, sees the
 * Contacts view without import or delete, and saves an unknown caller from the task.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CLINIC_NUMBER } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { logIn, startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 15_000;
/** The caller: line 125 of the file, written there in the national spelling 601 000 123. */
const CALLER = '+48601000123';
const UNKNOWN = '+48602999888';

let stack: WebStack;
let browser: TestBrowser;
/** Anna's own: a browser's pages share their session cookie. */
let annasBrowser: TestBrowser;
let line: PatientLine;
let maria: Page;
let anna: Page;
const pageErrors: string[] = [];

test.before(async () => {
  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '30' } });
  await createClinic(stack.app, { staff: ['maria', 'anna'], workstations: ['reception1'] });
  line = await PatientLine.open(stack.callPath.kamailioPort);
  browser = await launchBrowser();
  annasBrowser = await launchBrowser();
});

test.after(async () => {
  await line?.close();
  await browser?.close();
  await annasBrowser?.close();
  await stack?.stop();
});

/** 1,000 contacts (601 000 000 onwards, national spelling), `bad` lines replaced; line 1 is the header. */
function csv(bad: ReadonlyMap<number, string> = new Map()): Buffer {
  const lines = ['number,name,note'];
  for (let i = 0; i < 1000; i++) {
    const digits = String(i).padStart(6, '0');
    lines.push(bad.get(lines.length + 1) ?? `601 ${digits.slice(0, 3)} ${digits.slice(3)},Patient ${i},note ${i}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

async function patientCalls(from: string): Promise<{ dialog: PatientDialog; media: PatientPhone }> {
  const media = await PatientPhone.open();
  try {
    return { dialog: await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from, timeoutMs: TIMEOUT }), media };
  } catch (error) {
    media.close();
    throw error;
  }
}

const contactsView = (page: Page) => page.getByRole('region', { name: 'Contacts' });

test('Maria imports a 1,000-line CSV: the preview names the 3 bad lines and imports nothing; fixed, all 1,000 go in', async () => {
  maria = await logIn(browser, stack.base, STAFF.maria.email, STAFF.maria.password, { pageErrors, timeoutMs: TIMEOUT });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Contacts' }).click();
  const view = contactsView(maria);
  await view.getByText('No contacts yet.').waitFor({ timeout: TIMEOUT });

  const bad = new Map([
    [12, '601 000 010,,no name'],
    [500, 'call me maybe,Someone,'],
    [901, '601-000-001,Twice,'],
  ]);
  await view
    .getByLabel('CSV file to import')
    .setInputFiles({ name: 'patients.csv', mimeType: 'text/csv', buffer: csv(bad) });
  const problems = view.getByRole('list', { name: 'Refused lines' });
  await problems.waitFor({ timeout: TIMEOUT });
  assert.equal(await problems.getByRole('listitem').allInnerTexts(), [
    'Line 12: the name is empty',
    'Line 500: "call me maybe" is not a phone number',
    'Line 901: +48601000001 is also on line 3',
  ]);
  const importButton = view.getByRole('button', { name: /^Import \d+ contacts$/ });
  assert.ok(await importButton.isDisabled(), 'no import while a line is refused');
  assert.is(await stack.callPath.redis.hlen(RedisKeys.contacts), 0);

  await view
    .getByLabel('CSV file to import')
    .setInputFiles({ name: 'patients.csv', mimeType: 'text/csv', buffer: csv() });
  await view.getByText('1000 new, 0 changed, 0 unchanged.').waitFor({ timeout: TIMEOUT });
  await view.getByRole('button', { name: 'Import 1000 contacts' }).click();
  await view.getByRole('status').filter({ hasText: 'Imported: 1000 new, 0 changed.' }).waitFor({ timeout: TIMEOUT });
  assert.is(await stack.callPath.redis.hlen(RedisKeys.contacts), 1000);
  await view.getByText('Showing 200 of 1000').waitFor({ timeout: TIMEOUT });
  await view.getByLabel('Search contacts').fill('Patient 123');
  await view.getByRole('row', { name: /\+48601000123 Patient 123 note 123/ }).waitFor({ timeout: TIMEOUT });
});

test("a call from one of the numbers shows the patient's name on Anna's ring and on the board's card", async () => {
  anna = await logIn(annasBrowser, stack.base, STAFF.anna.email, STAFF.anna.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await anna.getByRole('button', { name: 'Reception 1' }).click();
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Call board' }).click();

  const { dialog, media } = await patientCalls(CALLER);
  try {
    const ring = anna.getByRole('region', { name: 'Incoming call' });
    await ring.getByText('Patient 123', { exact: true }).waitFor({ timeout: TIMEOUT });
    await ring.getByText(CALLER).waitFor({ timeout: TIMEOUT });
    for (const page of [anna, maria]) {
      const card = taskOf(page, CALLER);
      await card.getByRole('heading', { name: `Patient 123 ${CALLER}` }).waitFor({ timeout: TIMEOUT });
    }
    await ring.getByRole('button', { name: 'Answer' }).click();
    await anna.getByRole('region', { name: 'Call', exact: true }).getByText('In call').waitFor({ timeout: TIMEOUT });
    await anna.getByRole('region', { name: 'Call', exact: true }).getByRole('button', { name: 'Hang up' }).click();
    await dialog.waitForBye(TIMEOUT);
  } finally {
    await dialog.close();
    media.close();
  }
});

test('Anna, an employee, sees Contacts without import or delete, and saves an unknown caller from the task', async () => {
  const { dialog, media } = await patientCalls(UNKNOWN);
  try {
    const ring = anna.getByRole('region', { name: 'Incoming call' });
    await ring.getByRole('button', { name: 'Answer' }).click();
    const call = anna.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });
    await call.getByRole('button', { name: 'Hang up' }).click();
    await dialog.waitForBye(TIMEOUT);
  } finally {
    await dialog.close();
    media.close();
  }
  const card = taskOf(anna, UNKNOWN);
  await card.getByRole('button', { name: 'Save this caller' }).click();
  const form = card.getByRole('form', { name: `Save ${UNKNOWN} as a contact` });
  await form.getByLabel('Name').fill('Jan Nowy');
  await form.getByLabel('Note').fill('=HYPERLINK("http://evil.example")');
  await form.getByRole('button', { name: 'Save contact' }).click();
  await card.getByRole('heading', { name: `Jan Nowy ${UNKNOWN}` }).waitFor({ timeout: TIMEOUT });
  assert.is(await card.getByRole('button', { name: 'Save this caller' }).count(), 0);

  await anna.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Contacts' }).click();
  const view = contactsView(anna);
  await view.getByLabel('Search contacts').fill('602 999 888');
  await view.getByRole('row', { name: /\+48602999888 Jan Nowy/ }).waitFor({ timeout: TIMEOUT });
  assert.is(await view.getByLabel('CSV file to import').count(), 0, 'no import for employees');
  assert.is(await view.getByRole('link', { name: 'Export CSV' }).count(), 0, 'no export for employees');
  assert.is(await view.getByRole('button', { name: /^Delete/ }).count(), 0, 'no delete for employees');
  await view.getByRole('button', { name: 'Edit Jan Nowy' }).click();
  await view.getByRole('form', { name: 'Edit Jan Nowy' }).getByLabel('Name').fill('Jan Nowak');
  await view.getByRole('button', { name: 'Save', exact: true }).click();
  await view.getByRole('row', { name: /\+48602999888 Jan Nowak/ }).waitFor({ timeout: TIMEOUT });
});

test('Maria exports the contacts: the note a spreadsheet would run is escaped; she deletes a contact', async () => {
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Contacts' }).click();
  const view = contactsView(maria);
  const [download] = await Promise.all([
    maria.waitForEvent('download', { timeout: TIMEOUT }),
    view.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  const text = await readFile(await download.path(), 'utf8');
  const lines = text.split('\r\n');
  assert.is(lines.length, 1003, 'the header, 1,001 contacts and the last line break');
  assert.ok(
    lines.includes(`'+48602999888,Jan Nowak,"'=HYPERLINK(""http://evil.example"")"`),
    lines.slice(0, 3).join('\n'),
  );

  await view.getByLabel('Search contacts').fill('Jan Nowak');
  await view.getByRole('button', { name: 'Delete Jan Nowak' }).click();
  await view.getByRole('button', { name: 'Delete Jan Nowak' }).click();
  await view.getByRole('status').filter({ hasText: 'Deleted Jan Nowak.' }).waitFor({ timeout: TIMEOUT });
  assert.is(await stack.callPath.redis.hget(RedisKeys.contacts, UNKNOWN), null);
  assert.equal(pageErrors, []);
});

test.run();
