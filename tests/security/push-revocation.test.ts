/**
 * A push socket must not outlive its session (docs/security.md, "Routes, sessions and push"): it
 * closes with the session-ended code within 1 s of a logout, the user being disabled (API and CLI), a
 * password change (the other sessions) or reset (CLI), and the session's expiry, idle or at its
 * maximum age. Real signaling listening on a port, real `ws` clients, the real `deskline` tool; each
 * figure is measured from the action to the close and printed.
 */
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { PUSH_SESSION_ENDED_CLOSE_CODE, SESSION_COOKIE, type PushEvent } from '@deskline/protocol';
import { sessionDigest } from '@deskline/signaling/services/session-store';
import { runCli } from '../helpers/cli.js';
import { Recorder } from '../helpers/recorder.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { asUser, buildTestApp, createUser, loginOk, type LoggedIn } from '../helpers/signaling.js';

const LIMIT_MS = 1000;
const SESSION_MAX_HOURS = 1;

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let port: number;
let manager: LoggedIn;
let seq = 0;

/** A real panel's socket: every event it got, and when and how it closed. */
class Panel {
  private readonly recorder = new Recorder<PushEvent>('panel');
  readonly events = this.recorder.items;
  readonly closed: Promise<{ code: number; at: number }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.recorder.add(JSON.parse(data.toString()) as PushEvent));
    this.closed = new Promise((resolve) => socket.on('close', (code: number) => resolve({ code, at: Date.now() })));
  }

  /** Opens /api/push in `who`'s session (on the instance listening on `on`) and waits for its hello. */
  static async open(who: LoggedIn, on = port): Promise<Panel> {
    const socket = new WebSocket(`ws://127.0.0.1:${on}/api/push`, {
      headers: { cookie: `${SESSION_COOKIE}=${who.cookie}` },
    });
    const panel = new Panel(socket);
    await panel.next((event) => event.type === 'hello', 'the hello');
    return panel;
  }

  /** The first event from now on that matches. */
  next(match: (event: PushEvent) => boolean, what: string, timeoutMs = 5000): Promise<PushEvent> {
    return this.recorder.waitFor(what, match, this.recorder.mark(), timeoutMs);
  }

  /** Resolves with the close, or fails if it has not come `LIMIT_MS` + 2 s after it should have. */
  async closedWithin(what: string): Promise<{ code: number; at: number }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: the socket was still open after ${LIMIT_MS + 2000} ms`)),
        LIMIT_MS + 2000,
      );
    });
    try {
      return await Promise.race([this.closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
}

/** Asserts the close came with the session-ended code within LIMIT_MS of `from`, and prints the figure. */
async function expectClosed(panel: Panel, from: number, what: string): Promise<number> {
  const { code, at } = await panel.closedWithin(what);
  const ms = at - from;
  console.log(`  ${what}: socket closed ${ms} ms after, code ${code}`);
  assert.is(code, PUSH_SESSION_ENDED_CLOSE_CODE, `${what}: close code`);
  assert.ok(ms <= LIMIT_MS, `${what}: closed after ${ms} ms (limit ${LIMIT_MS} ms)`);
  return ms;
}

/** A new employee, logged in (each test its own, so that tests do not share sessions). */
async function employee(
  password = 'correct horse battery',
): Promise<{ who: LoggedIn; email: string; password: string }> {
  const email = `employee${++seq}@clinic.example`;
  await createUser(app, email, 'employee', password);
  return { who: await loginOk(app, email, password), email, password };
}

/** Proves a socket still delivers: a change to its user's team entry arrives on it. */
async function stillDelivers(panel: Panel, userId: string): Promise<void> {
  const arrived = panel.next(
    (event) => event.type === 'member' && event.member.userId === userId,
    `a member event for ${userId}`,
  );
  await app.agents.memberChanged(userId);
  await arrived;
  assert.ok(panel.open);
}

const cliEnv = (): NodeJS.ProcessEnv => ({ REDIS_URL: redis.url, SESSION_MAX_HOURS: String(SESSION_MAX_HOURS) });

/** Runs the CLI and measures from the moment the session's key disappears from Redis (polled every 2 ms). */
async function cliEnds(args: string[], who: LoggedIn, stdin = ''): Promise<{ ended: number; started: number }> {
  const key = `session:${sessionDigest(who.cookie)}`;
  const started = Date.now();
  const run = runCli(args, cliEnv(), stdin);
  let ended = 0;
  const watching = (async () => {
    while ((await db.exists(key)) === 1) await new Promise((resolve) => setTimeout(resolve, 2));
    ended = Date.now();
  })();
  const result = await run;
  assert.is(result.code, 0, result.stderr);
  await watching;
  return { ended, started };
}

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  app = await buildTestApp(redis.url, { SESSION_MAX_HOURS: String(SESSION_MAX_HOURS) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  manager = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
});

test.after(async () => {
  await app.close();
  db.disconnect();
  await redis.stop();
});

test('logout: the sockets of that session close within 1 s; another session of the same user keeps its socket', async () => {
  const { who, email, password } = await employee();
  const other = await loginOk(app, email, password);
  const first = await Panel.open(who);
  const second = await Panel.open(who);
  const otherPanel = await Panel.open(other);
  const from = Date.now();
  assert.is((await asUser(app, who, 'POST', '/api/auth/logout')).statusCode, 204);
  await expectClosed(first, from, 'logout');
  await expectClosed(second, from, 'logout (second tab)');
  await stillDelivers(otherPanel, who.info.user.id);
  otherPanel.socket.close();
});

test('logout on one signaling instance closes the socket held by another instance within 1 s', async () => {
  const second = await buildTestApp(redis.url, { SESSION_MAX_HOURS: String(SESSION_MAX_HOURS) });
  await second.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { who } = await employee();
    const panel = await Panel.open(who, (second.server.address() as AddressInfo).port);
    const from = Date.now();
    assert.is((await asUser(app, who, 'POST', '/api/auth/logout')).statusCode, 204);
    await expectClosed(panel, from, 'logout (socket on another instance)');
  } finally {
    await second.close();
  }
});

test('disabled by a manager (API): every socket of the user closes within 1 s', async () => {
  const { who } = await employee();
  const panel = await Panel.open(who);
  const from = Date.now();
  assert.is((await asUser(app, manager, 'POST', `/api/users/${who.info.user.id}/disable`)).statusCode, 200);
  await expectClosed(panel, from, 'disable (API)');
});

test('disabled with `deskline user disable` (another process): the socket closes within 1 s of the sessions ending', async () => {
  const { who, email } = await employee();
  const panel = await Panel.open(who);
  const { ended, started } = await cliEnds(['user', 'disable', '--email', email], who);
  const ms = await expectClosed(panel, ended, 'disable (CLI)');
  console.log(`  disable (CLI): ${ended - started + ms} ms from starting the command`);
});

test('password change: the sockets of the other sessions close within 1 s; the session that changed it keeps its socket', async () => {
  const { who, email, password } = await employee();
  const other = await loginOk(app, email, password);
  const mine = await Panel.open(who);
  const theirs = await Panel.open(other);
  const from = Date.now();
  const changed = await asUser(app, who, 'PUT', '/api/me/password', {
    currentPassword: password,
    newPassword: 'a different long password',
  });
  assert.is(changed.statusCode, 200, changed.body);
  await expectClosed(theirs, from, 'password change (other session)');
  // The renewed session is followed, by the channel and by the sweep alike.
  const renewed = changed.cookies.find((c) => c.name === SESSION_COOKIE)?.value ?? '';
  const live = await app.sessions.liveDigests([sessionDigest(who.cookie)]);
  assert.is(live.get(sessionDigest(who.cookie)), sessionDigest(renewed));
  await stillDelivers(mine, who.info.user.id);
  mine.socket.close();
});

test('password reset with `deskline user reset-password`: the socket closes within 1 s of the sessions ending', async () => {
  const { who, email } = await employee();
  const panel = await Panel.open(who);
  const { ended, started } = await cliEnds(
    ['user', 'reset-password', '--email', email],
    who,
    'a brand new long password\n',
  );
  const ms = await expectClosed(panel, ended, 'password reset (CLI)');
  console.log(`  password reset (CLI): ${ended - started + ms} ms from starting the command`);
});

test('idle expiry: when Redis expires the session key, the socket closes within 1 s', async () => {
  const { who } = await employee();
  const panel = await Panel.open(who);
  // SESSION_IDLE_MINUTES cannot go below a minute: the idle timeout is the key's TTL, so shorten it.
  const key = `session:${sessionDigest(who.cookie)}`;
  const expiresAt = Date.now() + 100;
  await db.pexpireat(key, expiresAt);
  await expectClosed(panel, expiresAt, 'idle expiry');
  assert.is((await asUser(app, who, 'GET', '/api/me')).statusCode, 401);
});

test('maximum age: a session used until its last moment expires at login + SESSION_MAX_HOURS, and its socket closes within 1 s', async () => {
  const { who } = await employee();
  const panel = await Panel.open(who);
  // As if the login was SESSION_MAX_HOURS ago less 300 ms; a request renews the idle timeout, which
  // the store caps at the maximum age.
  const key = `session:${sessionDigest(who.cookie)}`;
  const maxAt = Date.now() + 300;
  await db.hset(key, 'createdAt', String(maxAt - SESSION_MAX_HOURS * 3_600_000));
  assert.is((await asUser(app, who, 'GET', '/api/me')).statusCode, 200);
  const ttl = await db.pttl(key);
  assert.ok(ttl > 0 && ttl <= 300, `the key lives until the maximum age (${ttl} ms)`);
  await expectClosed(panel, maxAt, 'maximum age');
  assert.is((await asUser(app, who, 'GET', '/api/me')).statusCode, 401);
});

test('a socket opened with an ended session is refused, and one opened in a live session stays open across sweeps', async () => {
  const { who } = await employee();
  const panel = await Panel.open(who);
  await asUser(app, who, 'POST', '/api/auth/logout');
  await panel.closedWithin('logout');
  const refused = new WebSocket(`ws://127.0.0.1:${port}/api/push`, {
    headers: { cookie: `${SESSION_COOKIE}=${who.cookie}` },
  });
  const status = await new Promise<number>((resolve) => {
    refused.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    refused.on('open', () => resolve(101));
  });
  assert.is(status, 401);

  const { who: live } = await employee();
  const livePanel = await Panel.open(live);
  // Several sweeps (every 250 ms) go by while the team changes; the socket keeps delivering.
  const opened = Date.now();
  while (Date.now() - opened < 1500) await stillDelivers(livePanel, live.info.user.id);
  assert.ok(livePanel.open);
  livePanel.socket.close();
});

test.run();
