/**
 * What the end-to-end web tests stand on: the whole call path (Redis, rtpengine, Kamailio, the sip
 * app) and signaling wired to that Kamailio, listening on a free port for the browsers; and the steps
 * every such test takes in a page: logging in through the login page, and saving screenshots.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import type { TestBrowser } from './browser.js';
import { startCallPath, type CallPath, type CallPathOptions } from './call-path.js';
import { buildTestApp } from './signaling.js';

export interface WebStack {
  callPath: CallPath;
  /** Signaling, with the browsers' SIP settings pointing at the call path's Kamailio. */
  app: FastifyInstance;
  /** Signaling's address (http://127.0.0.1:port), where the browsers open the web app. */
  base: string;
  /** Closes signaling, then stops the call path. */
  stop(): Promise<void>;
}

/** Starts the call path with `options` (the sip app's `appEnv`, …), then signaling on a free port. */
export async function startWebStack(options: CallPathOptions = {}): Promise<WebStack> {
  const callPath = await startCallPath(options);
  let app: FastifyInstance | undefined;
  try {
    app = await buildTestApp(callPath.redisUrl, {
      SIP_EPHEMERAL_SECRET: callPath.kamailio.secret,
      SIP_DOMAIN: callPath.kamailio.domain,
      SIP_WS_PORT: String(callPath.kamailio.wsPort),
      // Where the sip app keeps voicemail messages, so that signaling serves them from there too.
      ...(options.appEnv?.['RECORDINGS_DIR'] ? { RECORDINGS_DIR: options.appEnv['RECORDINGS_DIR'] } : {}),
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const running = app;
    return {
      callPath,
      app,
      base,
      async stop() {
        await running.close();
        await callPath.stop();
      },
    };
  } catch (error) {
    await app?.close();
    await callPath.stop();
    throw error;
  }
}

export interface LogInOptions {
  /** Where the page's uncaught errors go, each prefixed with the email. */
  pageErrors: string[];
  /** How long to wait for the logged-in shell (its User menu). */
  timeoutMs: number;
  /** Called with the new page before it opens the app, to listen to it from the start. */
  watch?: (page: Page) => void;
  /** Clear the browser's cookies first (another user's session), to log in afresh. */
  fresh?: boolean;
}

/** Opens a new page in `browser` and logs in through the login page, as a person does. */
export async function logIn(
  browser: TestBrowser,
  base: string,
  email: string,
  password: string,
  options: LogInOptions,
): Promise<Page> {
  if (options.fresh) await browser.context.clearCookies();
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => options.pageErrors.push(`${email}: ${error.message}`));
  options.watch?.(page);
  await page.goto(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: options.timeoutMs });
  return page;
}

/**
 * A test's `screenshot(page, name)`: with SCREENSHOT_DIR set, saves `<prefix>-<name>.png` there;
 * without it, does nothing.
 */
export function screenshots(
  prefix: string,
  options: { fullPage?: boolean } = {},
): (page: Page, name: string) => Promise<void> {
  return async (page, name) => {
    const dir = process.env['SCREENSHOT_DIR'];
    if (dir)
      await page.screenshot({
        path: path.join(dir, `${prefix}-${name}.png`),
        ...(options.fullPage ? { fullPage: true } : {}),
      });
  };
}
