/**
 * The managers' Workstations view in Chromium against the real stack (Redis, Kamailio, rtpengine, the
 * sip app, signaling; issue 16, item 2): Maria adds a browser workstation and a desk phone; the desk
 * phone's SIP password is shown once; a real SIP REGISTER with it makes the screen say Registered, with
 * the phone's user agent; a password reset makes Kamailio refuse the old one; a rename keeps the
 * account; a removal revokes it. An employee has no such view.
 *
 * SCREENSHOT_DIR=/some/dir saves what the view looks like.
 */
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { board } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { registerDeskPhone } from '../../helpers/sip-register.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';

/** Generous: another test run may share this machine's two cores; the view reads the list every 5 s. */
const TIMEOUT = 20_000;
const PHONE_UA = 'Yealink SIP-T46U 108.86.0.20';

let stack: WebStack;
let browser: TestBrowser;
let phone: SipUdpEndpoint;
const pageErrors: string[] = [];
const screenshot = screenshots('staff-workstations', { fullPage: true });

test.before(async () => {
  stack = await startWebStack();
  await createClinic(stack.app, { staff: ['anna', 'maria'] });
  browser = await launchBrowser();
  phone = await SipUdpEndpoint.open(stack.callPath.kamailio.host, stack.callPath.kamailio.sipPort);
});

test.after(async () => {
  await phone?.close();
  await browser?.close();
  await stack?.stop();
});

async function logInAfresh(email: string, password: string): Promise<Page> {
  await browser.context.clearCookies();
  return logIn(browser, stack.base, email, password, { pageErrors, timeoutMs: TIMEOUT });
}

const views = (page: Page): Locator => page.getByRole('navigation', { name: 'Views' });

async function openWorkstations(page: Page): Promise<Locator> {
  await views(page).getByRole('button', { name: 'Workstations' }).click();
  const view = page.getByRole('region', { name: 'Workstations' });
  await view.getByLabel('Name', { exact: true }).waitFor({ timeout: TIMEOUT });
  return view;
}

/** The SIP password the view shows once, in its "SIP account of …" box. */
async function shownPassword(view: Locator, name: string): Promise<string> {
  const box = view.getByRole('region', { name: `SIP account of ${name}` });
  await box.waitFor({ timeout: TIMEOUT });
  const text = await box.innerText();
  const password = /SIP password\s+(\S+)/.exec(text)?.[1];
  assert.ok(password, text);
  return password;
}

const registerAs = (sipUser: string, password: string) =>
  registerDeskPhone(
    { registrar: stack.callPath.kamailio, sipUser, password },
    { endpoint: phone, userAgent: PHONE_UA },
  );

test('a manager adds a browser workstation and a desk phone; the phone registers and the screen shows it; reset, rename, remove', async () => {
  const page = await logInAfresh(STAFF.maria.email, STAFF.maria.password);
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  const view = await openWorkstations(page);

  // A browser workstation: no SIP password to show.
  await view.getByLabel('Name', { exact: true }).fill('Reception 5');
  await view.getByRole('button', { name: 'Add workstation' }).click();
  await view.getByRole('status').filter({ hasText: 'Added “Reception 5”.' }).waitFor({ timeout: TIMEOUT });
  const browserRow = view.getByRole('row', { name: 'Reception 5' });
  await browserRow.getByText('Browser workstation', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.is(await view.getByRole('region', { name: /^SIP account of/ }).count(), 0);

  // A desk phone with its extension: the password is shown once.
  await view.getByLabel('Name', { exact: true }).fill('Front desk phone');
  await view.getByLabel('Kind').selectOption({ label: 'Desk phone' });
  await view.getByLabel('SIP user (optional, e.g. 201)').fill('201');
  await view.getByRole('button', { name: 'Add workstation' }).click();
  const password = await shownPassword(view, 'Front desk phone');
  const row = view.getByRole('row', { name: 'Front desk phone' });
  await row.getByRole('cell', { name: 'Not registered', exact: true }).waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'desk-phone-added');
  await view.getByRole('button', { name: 'Done, hide the password' }).click();
  assert.is(await view.getByRole('region', { name: 'SIP account of Front desk phone' }).count(), 0);
  await page.reload();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  const again = await openWorkstations(page);
  await again.getByRole('row', { name: 'Front desk phone' }).waitFor({ timeout: TIMEOUT });
  assert.not.ok((await page.content()).includes(password), 'the password is nowhere after a reload');

  // The phone registers with it: the screen shows it registered, with its user agent, by itself.
  assert.is(await registerAs('201', password), 200);
  const registered = again.getByRole('row', { name: 'Front desk phone' });
  await registered.getByRole('cell', { name: 'Registered', exact: true }).waitFor({ timeout: TIMEOUT });
  await registered.getByRole('cell', { name: PHONE_UA }).waitFor({ timeout: TIMEOUT });
  assert.not.match(await registered.innerText(), /never/);
  await screenshot(page, 'desk-phone-registered');

  // A new password: shown once; Kamailio refuses the old one and takes the new one.
  await registered.getByRole('button', { name: 'New SIP password for Front desk phone' }).click();
  const fresh = await shownPassword(again, 'Front desk phone');
  assert.is.not(fresh, password);
  assert.is(await registerAs('201', password), 401, 'the old password is refused');
  assert.is(await registerAs('201', fresh), 200);
  await again.getByRole('button', { name: 'Done, hide the password' }).click();

  // Renamed: the same phone, still registered with the same account.
  await registered.getByRole('button', { name: 'Rename Front desk phone' }).click();
  await again.getByLabel('New name for Front desk phone').fill('Reception phone');
  await again.getByRole('button', { name: 'Save' }).click();
  const renamed = again.getByRole('row', { name: 'Reception phone' });
  await renamed.getByRole('cell', { name: 'Registered', exact: true }).waitFor({ timeout: TIMEOUT });
  assert.is(await renamed.getByText('Desk phone, SIP user 201', { exact: true }).count(), 1);
  assert.is(await registerAs('201', fresh), 200, 'the account still works after the rename');

  // Removed: gone from the list, and its password no longer registers.
  await renamed.getByRole('button', { name: 'Remove Reception phone' }).click();
  await renamed.getByRole('button', { name: 'Remove', exact: true }).click();
  await again.getByRole('status').filter({ hasText: 'Removed “Reception phone”.' }).waitFor({ timeout: TIMEOUT });
  assert.is(await again.getByRole('row', { name: 'Reception phone' }).count(), 0);
  assert.is(await registerAs('201', fresh), 401, 'the removed phone cannot register');
  await screenshot(page, 'desk-phone-removed');

  // A duplicate name is refused with the server's words.
  await again.getByLabel('Name', { exact: true }).fill('reception 5');
  await again.getByRole('button', { name: 'Add workstation' }).click();
  await again.getByRole('alert').filter({ hasText: 'A workstation named "reception 5" already exists.' }).waitFor({
    timeout: TIMEOUT,
  });
  assert.equal(pageErrors, []);
});

test('an employee has no Workstations view', async () => {
  const page = await logInAfresh(STAFF.anna.email, STAFF.anna.password);
  assert.is(await page.getByRole('button', { name: 'Workstations', exact: true }).count(), 0);
  assert.is(await page.getByRole('region', { name: 'Workstations' }).count(), 0);
  assert.equal(pageErrors, []);
});

test.run();
