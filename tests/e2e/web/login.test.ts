import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_COOKIE } from '@deskline/protocol';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';

const TIMEOUT = 10_000;
let redis: TestRedis;
let app: FastifyInstance;
let browser: TestBrowser;
let base: string;

test.before(async () => {
  redis = await startTestRedis();
  // A first login delay longer than the browser takes to submit the form.
  app = await buildTestApp(redis.url, { LOGIN_DELAY_BASE_SECONDS: '30' });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  // Anna's name is the one an account gets when made with only an email address.
  await createClinic(app, { staff: ['anna', 'ben'], variants: { anna: { displayName: 'anna' } } });
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.stop();
});

/** Types into the login form the way a person does, finding the fields by their labels. */
async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('an employee logs in, sees the shell with their name and the user menu, and logs out', async () => {
  const page = await browser.context.newPage();
  await submitLogin(page, STAFF.anna.email, STAFF.anna.password);

  const menuButton = page.getByRole('button', { name: 'User menu' });
  await menuButton.waitFor({ timeout: TIMEOUT });
  await page.getByRole('banner').getByText('anna', { exact: true }).waitFor({ timeout: TIMEOUT });
  const [cookie] = (await browser.context.cookies(base)).filter((c) => c.name === SESSION_COOKIE);
  assert.ok(cookie, 'the browser holds a session cookie');
  assert.is(cookie.httpOnly, true);
  assert.is(cookie.sameSite, 'Strict');
  const readable = await page.evaluate(() => document.cookie);
  assert.not.ok(readable.includes(cookie.value), 'page scripts cannot read the session cookie');

  await menuButton.click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await page.getByLabel('Email').waitFor({ timeout: TIMEOUT });
  assert.is(await menuButton.count(), 0, 'the shell is gone');

  // The cookie the browser held before logging out opens nothing any more.
  const replay = await fetch(`${base}/api/me`, { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` } });
  assert.is(replay.status, 401);
  await page.reload();
  await page.getByLabel('Email').waitFor({ timeout: TIMEOUT });
  await page.close();
});

test('a wrong password shows a clear error and keeps the email', async () => {
  const page = await browser.context.newPage();
  await submitLogin(page, 'ben@clinic.example', 'not my password');
  const alert = page.getByRole('alert');
  await alert.getByText('Wrong email or password.').waitFor({ timeout: TIMEOUT });
  assert.is(await page.getByLabel('Email').inputValue(), 'ben@clinic.example');
  assert.is(await page.getByLabel('Password').inputValue(), '');
  await page.close();
});

test('past the free attempts the login form says when to try again, even for the right password', async () => {
  await createClinic(app, { staff: ['carla'] });
  for (let i = 0; i < 3; i += 1) {
    const response = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: STAFF.carla.email, password: `guess ${i}` }),
    });
    assert.is(response.status, 401);
  }
  const page = await browser.context.newPage();
  await submitLogin(page, STAFF.carla.email, STAFF.carla.password);
  await page
    .getByRole('alert')
    .getByText(/^Too many failed logins for this account\. Try again in \d+ seconds\.$/)
    .waitFor({ timeout: TIMEOUT });
  assert.is(await page.getByRole('button', { name: 'User menu' }).count(), 0);
  await page.close();
});

test('a logged-in employee stays logged in across a reload', async () => {
  const page = await browser.context.newPage();
  await submitLogin(page, STAFF.ben.email, STAFF.ben.password);
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  await page.reload();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  await page.getByRole('banner').getByText('Ben Reception', { exact: true }).waitFor({ timeout: TIMEOUT });
  await page.close();
});

test.run();
