import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import type { Test } from 'uvu';
import { buildApp } from '@deskline/signaling/app';
// Brings the app's decorators (app.users and the other stores) into the FastifyInstance type.
import type {} from '@deskline/signaling/plugins/app/stores';
import type {} from '@deskline/signaling/plugins/app/tasks';
import type {} from '@fastify/websocket';
import { loadConfig } from '@deskline/signaling/config';
import { CSRF_HEADER, SESSION_COOKIE, type Role, type SessionInfo } from '@deskline/protocol';
import { startTestRedis, type TestRedis } from './redis.js';

/** Builds signaling against a test Redis; `env` overrides configuration variables. */
export async function buildTestApp(redisUrl: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  return buildApp(loadConfig({ REDIS_URL: redisUrl, ...env }), { logger: false });
}

export function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error(`no ${SESSION_COOKIE} cookie in the response (status ${response.statusCode})`);
  return cookie.value;
}

export interface LoggedIn {
  cookie: string;
  info: SessionInfo;
}

export function login(
  app: FastifyInstance,
  email: string,
  password: string,
  cookie?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password },
    ...(cookie ? { cookies: { [SESSION_COOKIE]: cookie } } : {}),
  });
}

export async function loginOk(app: FastifyInstance, email: string, password: string): Promise<LoggedIn> {
  const response = await login(app, email, password);
  if (response.statusCode !== 200) throw new Error(`login of ${email} failed: ${response.statusCode} ${response.body}`);
  return { cookie: sessionCookie(response), info: response.json<SessionInfo>() };
}

/** A request in a session, with its CSRF token on anything but GET. */
export function asUser(
  app: FastifyInstance,
  who: LoggedIn,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    cookies: { [SESSION_COOKIE]: who.cookie },
    headers: method === 'GET' ? {} : { [CSRF_HEADER]: who.info.csrfToken },
    ...(payload ? { payload } : {}),
  });
}

/**
 * A recording as the panel uploads it (a prompt's or the hold music's `url`): PUT of its bytes in
 * `who`'s session, with its CSRF token and the Content-Type the browser gives the file.
 */
export function putRecording(
  app: FastifyInstance,
  who: LoggedIn,
  url: string,
  body: Buffer,
  contentType: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'PUT',
    url,
    cookies: { [SESSION_COOKIE]: who.cookie },
    headers: { 'content-type': contentType, [CSRF_HEADER]: who.info.csrfToken },
    payload: body,
  });
}

export async function createUser(
  app: FastifyInstance,
  email: string,
  role: Role,
  password = 'correct horse battery',
): Promise<string> {
  await app.users.create({ email, displayName: email.split('@')[0] ?? email, role, password });
  return password;
}

export interface AppFixture {
  app: FastifyInstance;
  db: Redis;
  redisUrl: string;
}

/**
 * Gives each test of `suite` a fresh signaling app over an empty Redis: one redis-server for the
 * file, flushed before each test.
 */
export function useFreshApp(suite: Test, env: Record<string, string> = {}): AppFixture {
  const fixture = {} as AppFixture;
  let redis: TestRedis;
  suite.before(async () => {
    redis = await startTestRedis();
    fixture.redisUrl = redis.url;
    fixture.db = new Redis(redis.url);
  });
  suite.before.each(async () => {
    await fixture.db.flushall();
    fixture.app = await buildTestApp(redis.url, env);
  });
  suite.after.each(async () => {
    await fixture.app.close();
  });
  suite.after(async () => {
    fixture.db.disconnect();
    await redis.stop();
  });
  return fixture;
}
