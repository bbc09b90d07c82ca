/**
 * The settings of the user panel in Chromium, with two people at two computers: Anna changes her
 * picture and name (and Ben's computer gets them), her password (wrong one, then a good one that logs
 * out her other computer). Redis and signaling are real; the pictures are made by the test.
 *
 * SCREENSHOT_DIR=/some/dir saves what the page looks like at each step, for a look by eye.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type PublicUser } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, memberByEmail, STAFF } from '../../helpers/clinic.js';
import { widePicture } from '../../helpers/images.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { waitFor } from '../../helpers/wait.js';
import { screenshots } from '../../helpers/web-stack.js';

const TIMEOUT = 10_000;

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let base: string;
/** Anna's computer, and a second one (Ben's, later Anna's other one). */
let annaBrowser: TestBrowser;
let otherBrowser: TestBrowser;
let anna: Pick<PublicUser, 'id'>;
const pageErrors: string[] = [];

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  app = await buildTestApp(redis.url);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  // Anna is a manager here: she works without a workstation.
  anna = (await createClinic(app, { staff: ['anna', 'ben'], variants: { anna: { role: 'manager' } } })).staff.anna;
  annaBrowser = await launchBrowser();
  otherBrowser = await launchBrowser();
});

test.after(async () => {
  await annaBrowser?.close();
  await otherBrowser?.close();
  await app?.close();
  db?.disconnect();
  await redis?.stop();
});

async function openPage(browser: TestBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

/** Logs in through the form, as a person does; a manager starts without a workstation. */
async function logIn(page: Page, email: string, password = memberByEmail(email).password): Promise<void> {
  await page.goto(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  const skip = page.getByRole('button', { name: 'Work without a workstation' });
  if (email.startsWith('anna')) {
    await skip.click();
    await skip.waitFor({ state: 'detached', timeout: TIMEOUT });
  }
}

async function menu(page: Page, entry: string): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click();
  await page.getByRole('menuitem', { name: entry }).click();
}

function settings(page: Page) {
  return page.getByRole('dialog', { name: 'Settings' });
}

const screenshot = screenshots('settings');

/** The picture in the header: its URL and its size once loaded. */
async function headerPicture(page: Page): Promise<{ src: string; width: number }> {
  const img = page.getByRole('banner').locator('img.avatar');
  await img.waitFor({ timeout: TIMEOUT });
  await waitFor(
    'the header picture to load',
    () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0),
    TIMEOUT,
  );
  return img.evaluate((el: HTMLImageElement) => ({ src: el.getAttribute('src') ?? '', width: el.naturalWidth }));
}

/**
 * What another logged-in colleague's browser gets of a member: here, the picture at the member's
 * avatar URL, loaded as an <img> in that colleague's session.
 */
async function pictureAsSeenBy(
  page: Page,
  url: string,
): Promise<{ status: number; type: string | null; width: number }> {
  return page.evaluate(async (src) => {
    const response = await fetch(src);
    const image = new Image();
    image.src = src;
    await image.decode();
    return { status: response.status, type: response.headers.get('content-type'), width: image.naturalWidth };
  }, url);
}

async function teamEventsOf(userId: string): Promise<number> {
  const entries = await db.xrange(RedisStreams.teamEvents, '-', '+');
  return entries.filter(([, fields]) => fields[1] === userId).length;
}

test("Anna uploads a picture and renames herself: her header shows both at once, and so does Ben's team list", async () => {
  // Ben is logged in at his own computer first: the change must reach his open panel, not a reload.
  const ben = await openPage(otherBrowser);
  await logIn(ben, 'ben@clinic.example');
  const annaInBensTeam = ben.getByRole('region', { name: 'Team' }).getByRole('listitem', { name: 'Anna Reception' });
  await annaInBensTeam.waitFor({ timeout: TIMEOUT });

  const page = await openPage(annaBrowser);
  await logIn(page, 'anna@clinic.example');
  await page.getByRole('banner').getByText('AR', { exact: true }).waitFor({ timeout: TIMEOUT });

  await menu(page, 'Settings');
  const dialog = settings(page);
  await dialog.waitFor({ timeout: TIMEOUT });
  await dialog.getByText(/Change your password now and then/).waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'open');
  const eventsBefore = await teamEventsOf(anna.id);
  await dialog
    .getByLabel('Upload a picture')
    .setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await widePicture('png') });
  await dialog.getByRole('status').getByText('Your picture was saved.').waitFor({ timeout: TIMEOUT });
  const picture = await headerPicture(page);
  assert.match(picture.src, new RegExp(`^/api/users/${anna.id}/avatar\\?v=\\w+$`));
  assert.is(picture.width, 256);
  // Ben's team list shows the new picture within a second, loaded through his own session.
  const bensPicture = annaInBensTeam.locator(`img[src="${picture.src}"]`);
  await bensPicture.waitFor({ timeout: 1000 });
  await ben.waitForFunction(
    (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth === 256,
    await bensPicture.elementHandle(),
    { timeout: TIMEOUT },
  );
  const seen = await pictureAsSeenBy(ben, picture.src);
  assert.equal(seen, { status: 200, type: 'image/webp', width: 256 });

  await dialog.getByLabel('Name').fill('Anna Nowak');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.getByRole('status').getByText('Your name was saved.').waitFor({ timeout: TIMEOUT });
  await ben
    .getByRole('region', { name: 'Team' })
    .getByRole('listitem', { name: 'Anna Nowak' })
    .waitFor({ timeout: 1000 });
  await screenshot(page, 'saved');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });
  await page.getByRole('banner').getByText('Anna Nowak', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.is((await teamEventsOf(anna.id)) - eventsBefore, 2, 'both changes were announced to the team');
  assert.is(await app.users.get(anna.id).then((u) => u?.displayName), 'Anna Nowak');

  // Both survive a reload.
  await page.reload();
  await page.getByRole('banner').getByText('Anna Nowak', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.is((await headerPicture(page)).src, picture.src);
  await menu(ben, 'Log out');
  await ben.getByLabel('Email').waitFor({ timeout: TIMEOUT });
  await ben.close();
  await page.close();
});

test('a file that is not a picture is refused with a clear message; removing the picture brings the initials back', async () => {
  const page = await openPage(annaBrowser);
  await page.goto(base);
  await menu(page, 'Settings');
  const dialog = settings(page);
  await dialog
    .getByLabel('Change picture')
    .setInputFiles({ name: 'cat.gif', mimeType: 'image/gif', buffer: await widePicture('gif') });
  await dialog
    .getByRole('alert')
    .getByText('Only PNG, JPEG and WebP pictures can be used.')
    .waitFor({ timeout: TIMEOUT });
  await dialog
    .getByLabel('Change picture')
    .setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
  await dialog
    .getByRole('alert')
    .getByText('Only PNG, JPEG and WebP pictures can be used.')
    .waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'wrong-type');
  assert.ok((await headerPicture(page)).width > 0, 'the picture before is kept');

  await dialog.getByLabel('Name').fill('   ');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.getByRole('alert').getByText('The name must not be empty.').waitFor({ timeout: TIMEOUT });

  await dialog.getByRole('button', { name: 'Remove picture' }).click();
  await dialog.getByRole('status').getByText('Your picture was removed.').waitFor({ timeout: TIMEOUT });
  await page.getByRole('banner').getByText('AN', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.is(await page.getByRole('banner').locator('img.avatar').count(), 0);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });
  await page.close();
});

test("a wrong current password shows a clear error; a good change logs out Anna's other computer and keeps this one", async () => {
  const page = await openPage(annaBrowser);
  await page.goto(base);
  // Anna is also logged in at another computer.
  await otherBrowser.context.clearCookies();
  const elsewhere = await openPage(otherBrowser);
  await logIn(elsewhere, 'anna@clinic.example');

  await menu(page, 'Settings');
  const dialog = settings(page);
  const newPassword = 'a quiet morning at reception';
  await dialog.getByLabel('Current password').fill('not my password');
  await dialog.getByLabel('New password', { exact: true }).fill(newPassword);
  await dialog.getByLabel('Repeat the new password').fill(newPassword);
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await dialog
    .getByRole('alert')
    .getByText('The current password is wrong. Your password was not changed.')
    .waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'wrong-password');

  await dialog.getByLabel('Current password').fill(STAFF.anna.password);
  await dialog.getByLabel('New password', { exact: true }).fill('password1234');
  await dialog.getByLabel('Repeat the new password').fill('password1234');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await dialog
    .getByRole('alert')
    .getByText(/one of the most commonly used/)
    .waitFor({ timeout: TIMEOUT });

  await dialog.getByLabel('New password', { exact: true }).fill(newPassword);
  await dialog.getByLabel('Repeat the new password').fill(newPassword);
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await dialog
    .getByRole('status')
    .getByText('Your password was changed. You were logged out on every other computer.')
    .waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'password-changed');

  // The other computer is back at the login page at once (its push socket was closed).
  await elsewhere
    .getByRole('alert')
    .getByText('Your session has ended. Please log in again.')
    .waitFor({ timeout: TIMEOUT });
  await elsewhere.getByLabel('Email').waitFor({ timeout: TIMEOUT });

  // This one goes on with the renewed session: a change that needs the new CSRF token works.
  await dialog.getByLabel('Name').fill('Anna Nowak-Berg');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.getByRole('status').getByText('Your name was saved.').waitFor({ timeout: TIMEOUT });
  await page.reload();
  await page.getByRole('banner').getByText('Anna Nowak-Berg', { exact: true }).waitFor({ timeout: TIMEOUT });

  await logIn(elsewhere, 'anna@clinic.example', newPassword);
  await elsewhere.close();
  await page.close();
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
