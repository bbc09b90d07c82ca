/**
 * The attacker's walk over signaling's HTTP routes (docs/security.md, "Routes, sessions and push"),
 * against the real app listening on a port, with raw HTTP requests so that every byte of the path
 * reaches the router as sent (no client normalises `/./`, `//` or `%2f`).
 *
 * For every route that `printRoutes()` lists, every method it has, and every spelling of its path
 * (encoded letters, `//`, `/./`, `/x/../`, upper case, trailing slash, `%2f`, double encoding, `;`
 * parameters, a query string, …), with ids of someone else's things in its parameters:
 * - anonymous → 401 or 404, never 2xx and never a schema's 400;
 * - an employee on a manager route → 403 or 404;
 * - in a session, a state-changing request without the CSRF token, or from a foreign Origin → 403 or 404.
 * The table ACCESS below is the expected access of every route: a route added to the app and not to
 * the table fails here, as does a route registered without a declaration (the app does not build).
 */
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { CSRF_HEADER, SESSION_COOKIE, type Subject, type TaskView, type Workstation } from '@deskline/protocol';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { buildTestApp, createUser, loginOk, type LoggedIn } from '../helpers/signaling.js';
import { wrapUpTask } from '../helpers/board-tasks.js';
import { storeVoicemail } from '../helpers/voicemail.js';
import { RedisKeys } from '@deskline/store';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';

type Access = 'public' | 'session' | 'manager';

const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');

/**
 * Who may call each route (method and registered path, without a trailing slash). This is the
 * security review of the API in one place: a new route must be added here to pass.
 */
const ACCESS: Record<string, Access> = {};
function declare(access: Access, methods: string, ...paths: string[]): void {
  for (const method of methods.split(',')) for (const p of paths) ACCESS[`${method} ${p}`] = access;
}
declare('public', 'GET,HEAD', '/*', '/api/health');
declare('public', 'POST', '/api/auth/login');
// The setup link's token is the proof (tests/security/staff-setup-link.test.ts).
declare('public', 'POST', '/api/auth/setup');
declare(
  'session',
  'POST',
  '/api/auth/logout',
  '/api/pause/extend',
  '/api/tasks/:id/problems',
  '/api/tasks/:id/close',
  '/api/tasks/:id/callback',
);
declare(
  'session',
  'GET,HEAD',
  '/api/push',
  '/api/me',
  '/api/me/preferences',
  '/api/users/:id/avatar',
  '/api/sip/credentials',
);
declare(
  'session',
  'GET,HEAD',
  '/api/workstations',
  '/api/subjects',
  '/api/team',
  '/api/queues',
  '/api/tasks',
  '/api/tasks/:id',
  '/api/pause/missed',
);
declare('session', 'GET,HEAD,PUT,DELETE', '/api/pause', '/api/workstation');
declare('session', 'PUT', '/api/me/profile', '/api/me/preferences', '/api/me/password', '/api/me/avatar');
declare('session', 'DELETE', '/api/me/avatar', '/api/pause/missed');
declare('session', 'PATCH', '/api/tasks/:id');
declare('manager', 'GET,HEAD,POST', '/api/users');
declare(
  'manager',
  'POST',
  '/api/users/:id/disable',
  '/api/workstations',
  '/api/subjects',
  '/api/subjects/reorder',
  '/api/subjects/:id/retire',
  '/api/subjects/:id/restore',
  '/api/workstations/:id/sip-password',
);
declare('manager', 'PATCH', '/api/subjects/:id');
declare('manager', 'PATCH,DELETE', '/api/workstations/:id');
declare('manager', 'POST', '/api/users/:id/enable', '/api/users/:id/password', '/api/users/:id/force-off');
declare('manager', 'PUT', '/api/users/:id/role');
declare('manager', 'GET,HEAD', '/api/statistics');
declare('manager', 'GET,HEAD,PUT', '/api/settings/outbound-policy');
declare('manager', 'GET,HEAD,PUT', '/api/settings/call-plan');
// Issue 16: everyone reads whether Abandoned calls get Call back (the board shows it); managers change it.
declare('session', 'GET,HEAD', '/api/settings/outcomes');
declare('manager', 'PUT', '/api/settings/outcomes');
declare('manager', 'GET,HEAD', '/api/settings/call-plan/preview');
declare('manager', 'GET,HEAD,PUT', '/api/settings/distribution');
declare('manager', 'GET,HEAD', '/api/settings/prompts', '/api/settings/prompts/:lang/:name/audio');
declare('manager', 'PUT,DELETE', '/api/settings/prompts/:lang/:name');
declare('manager', 'GET,HEAD', '/api/settings/hold-music/audio');
declare('manager', 'PUT,DELETE', '/api/settings/hold-music');
declare('session', 'GET,HEAD', '/api/voicemail/:id/audio');
declare('manager', 'GET,HEAD', '/api/voicemail/audit');
// Contacts (issue 16, item 5): everyone views, adds and edits; managers delete, import and export.
declare('session', 'GET,HEAD,POST', '/api/contacts');
declare('session', 'POST', '/api/contacts/lookup');
declare('session', 'PATCH', '/api/contacts/:number');
declare('manager', 'DELETE', '/api/contacts/:number');
declare('manager', 'POST', '/api/contacts/import', '/api/contacts/import/preview');
declare('manager', 'GET,HEAD', '/api/contacts/export');

interface Route {
  method: string;
  /** The registered path, e.g. /api/tasks/:id or /api/users/. */
  path: string;
}

/** Every route of `printRoutes({ commonPrefix: false })`: each tree line adds its segment to its parent's path. */
function listRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) {
      assert.is(line.trim(), '', `unreadable printRoutes line: ${line}`);
      continue;
    }
    const depth = match[1]!.length / 4;
    const segment = match[2]!;
    stack.length = depth;
    const parent = stack[depth - 1] ?? '';
    const full = depth === 0 && !segment.startsWith('/') ? `/${segment}` : parent + segment;
    stack.push(full);
    for (const method of match[3]!.split(', ')) routes.push({ method, path: full });
  }
  return routes;
}

const key = (route: Route): string =>
  `${route.method} ${route.path.length > 1 ? route.path.replace(/\/$/, '') : route.path}`;

const hex = (c: string): string => `%${c.charCodeAt(0).toString(16)}`;

/** The same path written every way an attacker might try to slip past a check on the raw URL. */
function spellings(p: string): string[] {
  const segments = p.split('/');
  const encodedFirstLetters = segments.map((s) => s.replace(/[a-z]/, hex)).join('/');
  return [
    ...new Set([
      p,
      encodedFirstLetters,
      p.replace(/[a-z]/g, hex),
      p.replace(/[a-z]/, (c) => `%25${c.charCodeAt(0).toString(16)}`),
      `/${p}`,
      p.replace('/api/', '/api//'),
      `/.${p}`,
      p.replace('/api/', '/api/./'),
      `/x/..${p}`,
      p.replace('/api/', '/api/x/../'),
      `${p}/.`,
      `${p}/..`,
      p.toUpperCase(),
      p.replace('/api', '/API'),
      p.endsWith('/') ? p.slice(0, -1) : `${p}/`,
      p.replace('/api/', '/api%2f'),
      p.replace('/api/', '/api%2F'),
      `${p}%2f`,
      `${p};x=1`,
      p.replace('/api', '/api;x=1'),
      `${p}?x=1`,
      `${p}?role=manager#x`,
      `${p}%00`,
      `${p}%20`,
      `${p}\\`.replace('\\', '%5c'),
    ]),
  ];
}

interface Reply {
  status: number;
  body: string;
}

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let port: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

interface Caller {
  cookie?: string;
  csrf?: string;
  origin?: string;
  fetchSite?: string;
}

/** One request with `rawPath` exactly as written. */
function send(method: string, rawPath: string, caller: Caller = {}, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined || method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = {};
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (caller.cookie) headers['cookie'] = `${SESSION_COOKIE}=${caller.cookie}`;
    if (caller.csrf) headers[CSRF_HEADER] = caller.csrf;
    if (caller.origin) headers['origin'] = caller.origin;
    if (caller.fetchSite) headers['sec-fetch-site'] = caller.fetchSite;
    const request = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, agent }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** A WebSocket upgrade on `rawPath`: the HTTP status the server answers (101 when it accepts). */
function upgrade(rawPath: string, caller: Caller = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    if (caller.cookie) headers['cookie'] = `${SESSION_COOKIE}=${caller.cookie}`;
    // A socket of its own: one the server refused an upgrade on is not reused.
    const request = http.request({ host: '127.0.0.1', port, method: 'GET', path: rawPath, headers, agent: false });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

const asCaller = (who: LoggedIn): Caller => ({ cookie: who.cookie, csrf: who.info.csrfToken });

let manager: LoggedIn;
let anna: LoggedIn;
let ben: LoggedIn;
/** Ben's things, which Anna (and an anonymous caller) go after. */
let bensTask: TaskView;
let subject: Subject;
/** The clinic's desk phone, which no employee may rename, remove or give a new SIP password. */
let deskPhone: Workstation;
let routes: Route[];
/** A voicemail message of Ben's task, and the folder its audio is in. */
let bensVoicemailId: string;
/** The number of a contact (Ben's patient's): employees may not delete it. */
const bensContact = '+48600100200';
const recordings = mkdtempSync(path.join(os.tmpdir(), 'deskline-routes-recordings-'));

/** A body that would create a manager, if anything let it through. */
const ATTACK_BODY = {
  email: 'mallory@evil.example',
  displayName: 'Mallory',
  role: 'manager',
  password: 'mallory-is-the-boss-now',
};
/** A body every schema refuses: a 400 to an anonymous caller would show the schema ran before the guard. */
const JUNK_BODY = { bogus: true };

/** The route's path with each parameter replaced by the id of someone else's thing (a real prompt for the prompts). */
function concrete(route: Route): string {
  return route.path.replace(/:(\w+)/g, (_whole, name: string) => {
    if (route.path.startsWith('/api/settings/prompts/') && name === 'lang') return 'pl';
    if (route.path.startsWith('/api/settings/prompts/') && name === 'name') return 'intro';
    if (route.path.startsWith('/api/contacts/') && name === 'number') return encodeURIComponent(bensContact);
    assert.is(name, 'id', `${route.path}: a parameter the suite has no id for`);
    if (route.path.startsWith('/api/users/')) return ben.info.user.id;
    if (route.path.startsWith('/api/tasks/')) return bensTask.id;
    if (route.path.startsWith('/api/subjects/')) return subject.id;
    if (route.path.startsWith('/api/workstations/')) return deskPhone.id;
    if (route.path.startsWith('/api/voicemail/')) return bensVoicemailId;
    throw new Error(`${route.path}: give the suite a real id for this parameter`);
  });
}

test.before(async () => {
  assert.ok(existsSync(WEB_ROOT), `the web app must be built (${WEB_ROOT}) so that its wildcard route is attacked too`);
  redis = await startTestRedis();
  db = new Redis(redis.url);
  app = await buildTestApp(redis.url, { WEB_ROOT, RECORDINGS_DIR: recordings });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  manager = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  bensTask = await wrapUpTask(app, db, ben.info.user.id, '+48600100200');
  subject = (await app.subjects.list())[0]!;
  deskPhone = await app.workstations.create({ name: 'Front desk phone', kind: 'sip-phone', sipUser: '201' });
  const voicemail = await storeVoicemail(db, recordings, { callId: 'call-of-bens-voicemail', from: '+48600100200' });
  await db.set(RedisKeys.callTask(voicemail.callId), bensTask.id);
  bensVoicemailId = voicemail.id;
  await app.contacts.create({ number: bensContact, name: 'Zofia Nowak' });
  routes = listRoutes(app);
});

test.after(async () => {
  agent.destroy();
  await app.close();
  db.disconnect();
  await redis.stop();
  rmSync(recordings, { recursive: true, force: true });
});

test('every route printRoutes lists has an expected access in this suite, and no other route exists', () => {
  const listed = [...new Set(routes.map(key))].sort();
  assert.ok(listed.length > 40, `printRoutes listed only ${listed.length} routes`);
  assert.equal(listed, Object.keys(ACCESS).sort());
});

test('anonymous: every route but the public ones, under every spelling and method, is 401 or 404, never 2xx or a schema 400', async () => {
  let requests = 0;
  const usersBefore = (await app.users.list()).length;
  for (const route of routes) {
    if (ACCESS[key(route)] === 'public') continue;
    for (const spelling of spellings(concrete(route))) {
      for (const body of [ATTACK_BODY, JUNK_BODY]) {
        const reply = await send(route.method, spelling, {}, body);
        requests += 1;
        assert.ok(
          [401, 404].includes(reply.status),
          `anonymous ${route.method} ${spelling} (${key(route)}): ${reply.status} ${reply.body}`,
        );
      }
    }
  }
  assert.is((await app.users.list()).length, usersBefore, 'no user was created');
  console.log(`  anonymous: ${requests} requests, all 401 or 404`);
});

test('anonymous: methods a route does not have, and paths no route has, are 404 (not a way round the guard)', async () => {
  const byPath = new Map<string, Set<string>>();
  for (const route of routes) {
    if (route.path === '/*') continue;
    byPath.set(concrete(route), (byPath.get(concrete(route)) ?? new Set()).add(route.method));
  }
  for (const [p, methods] of byPath) {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      if (methods.has(method)) continue;
      for (const spelling of [p, p.replace(/[a-z]/, hex)]) {
        const reply = await send(method, spelling, {}, ATTACK_BODY);
        assert.ok([401, 404].includes(reply.status), `anonymous ${method} ${spelling}: ${reply.status} ${reply.body}`);
      }
    }
  }
  for (const p of ['/api/nope', '/%61pi/nope', '/api/users/x/y', '/api/tasks/../users', '/api']) {
    for (const caller of [{}, asCaller(anna)]) {
      const reply = await send('POST', p, caller, ATTACK_BODY);
      assert.is(reply.status, 404, `POST ${p}: ${reply.body}`);
    }
  }
});

test('anonymous push socket: the upgrade is refused (401 or 404) under every spelling of /api/push', async () => {
  for (const spelling of spellings('/api/push')) {
    const status = await upgrade(spelling);
    assert.ok([401, 404].includes(status), `anonymous upgrade ${spelling}: ${status}`);
  }
  // The control: with a session the socket opens, so the refusals above are the guard's.
  assert.is(await upgrade('/api/push', asCaller(anna)), 101);
  assert.is(await upgrade('/%61pi/push', asCaller(anna)), 101);
});

test('an employee on every manager route, under every spelling and method, with the CSRF token: 403 or 404', async () => {
  let requests = 0;
  const usersBefore = (await app.users.list()).length;
  for (const route of routes) {
    if (ACCESS[key(route)] !== 'manager') continue;
    for (const spelling of spellings(concrete(route))) {
      for (const body of [ATTACK_BODY, JUNK_BODY]) {
        const reply = await send(route.method, spelling, asCaller(anna), body);
        requests += 1;
        assert.ok(
          [403, 404].includes(reply.status),
          `employee ${route.method} ${spelling}: ${reply.status} ${reply.body}`,
        );
      }
    }
  }
  assert.is((await app.users.list()).length, usersBefore, 'no user was created');
  assert.is((await app.users.get(ben.info.user.id))?.disabled, false, 'Ben is not disabled');
  assert.is((await app.contacts.get(bensContact))?.name, 'Zofia Nowak', 'the contact is not deleted');
  console.log(`  employee on manager routes: ${requests} requests, all 403 or 404`);
});

test('the odd spellings reach the same route: a manager gets the same answer for /%61pi/… as for /api/… (so the refusals above are the guard, not a miss)', async () => {
  for (const route of routes) {
    if (route.method !== 'GET' || route.path === '/*' || route.path === '/api/push') continue;
    const p = concrete(route);
    const canonical = await send('GET', p, asCaller(manager));
    assert.not.ok(canonical.body.includes('No such resource'), `GET ${p}: ${canonical.body}`);
    const encoded = await send('GET', p.replace(/[a-z]/, hex), asCaller(manager));
    assert.is(encoded.status, canonical.status, `GET ${p.replace(/[a-z]/, hex)}`);
  }
});

test('CSRF: in a session, every state-changing request without the token, with a foreign Origin, or marked cross-site is 403 or 404 under every spelling', async () => {
  let requests = 0;
  const usersBefore = (await app.users.list()).length;
  const noToken: Caller = { cookie: manager.cookie };
  const foreign: Caller = { ...asCaller(manager), origin: 'https://evil.example' };
  const crossSite: Caller = { ...asCaller(manager), fetchSite: 'cross-site' };
  for (const route of routes) {
    if (['GET', 'HEAD'].includes(route.method)) continue;
    for (const spelling of spellings(concrete(route))) {
      for (const caller of [noToken, foreign, crossSite]) {
        // The login is public: it has no session token to check, but a foreign Origin is still refused.
        if (caller === noToken && ACCESS[key(route)] === 'public') continue;
        const reply = await send(route.method, spelling, caller, ATTACK_BODY);
        requests += 1;
        assert.ok(
          [403, 404].includes(reply.status),
          `${route.method} ${spelling} ${JSON.stringify({ ...caller, cookie: undefined, csrf: !!caller.csrf })}: ${reply.status} ${reply.body}`,
        );
      }
    }
  }
  assert.is((await app.users.list()).length, usersBefore, 'no user was created');
  assert.is(
    (await send('GET', '/api/me', asCaller(manager))).status,
    200,
    'the logouts without a token did not end the session',
  );
  console.log(`  CSRF: ${requests} requests, all 403 or 404`);
});

test("another employee's things: Anna cannot read or change Ben's task, take his workstation, or act as him through /api/me", async () => {
  const annaCaller = asCaller(anna);
  const taskPath = `/api/tasks/${bensTask.id}`;
  for (const [method, p, body] of [
    ['GET', taskPath, undefined],
    ['PATCH', taskPath, { comment: 'mine now' }],
    ['PATCH', taskPath, { subjectId: subject.id }],
    ['POST', `${taskPath}/close`, undefined],
    ['POST', `${taskPath}/problems`, { kind: 'echo' }],
    ['POST', `${taskPath}/callback`, undefined],
  ] as const) {
    for (const spelling of [p, p.replace(/[a-z]/, hex)]) {
      const reply = await send(method, spelling, annaCaller, body);
      assert.ok([403, 404].includes(reply.status), `${method} ${spelling}: ${reply.status} ${reply.body}`);
    }
  }
  const pending = await send('GET', '/api/tasks?tab=pending', annaCaller);
  assert.is(pending.status, 200);
  assert.not.ok(pending.body.includes(bensTask.id), "Ben's pending task is not in Anna's list");
  const after = await app.tasks.get(bensTask.id);
  assert.is(after?.comment, undefined);
  assert.is(after?.subjectId, undefined);
  assert.is(after?.status, 'wrap-up');
  assert.equal(after?.problems, []);

  // Ben's workstation is his: Anna cannot take it, and leaving "her" workstation leaves his alone.
  const workstation = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  await app.agents.selectWorkstation(ben.info.user.id, workstation.id, async (holder) => holder);
  const take = await send('PUT', '/api/workstation', annaCaller, { workstationId: workstation.id });
  assert.is(take.status, 409, take.body);
  assert.is((await send('DELETE', '/api/workstation', annaCaller)).status, 204);
  assert.is((await app.agents.status(ben.info.user.id)).workstation?.id, workstation.id, 'Ben still holds it');

  // /api/me has no id to swap: naming Ben in the body is refused and changes nothing of his.
  const profile = await send('PUT', '/api/me/profile', annaCaller, {
    displayName: 'Not Ben',
    userId: ben.info.user.id,
  });
  assert.is(profile.status, 400, profile.body);
  assert.is((await app.users.get(ben.info.user.id))?.displayName, 'ben');
  const me = await send('GET', `/api/me?userId=${ben.info.user.id}`, annaCaller);
  assert.is((JSON.parse(me.body) as { user: { id: string } }).user.id, anna.info.user.id);
});

test('a route registered without an access declaration (or with an unknown one) makes the app fail to build', async () => {
  const other = await buildTestApp(redis.url, { WEB_ROOT });
  try {
    assert.throws(() => other.get('/api/new-thing', async () => 'hello'), /declares no access/);
    assert.throws(
      () => other.post('/api/new-thing', { config: { access: 'everyone' as never } }, async () => 'hello'),
      /declares no access/,
    );
    // Outside /api as well, and inside a plugin with a prefix: the build (ready) fails.
    let failure: unknown;
    try {
      await other.register(
        async (scope) => {
          scope.get('/', async () => 'hello');
        },
        { prefix: '/reports' },
      );
      await other.ready();
    } catch (err) {
      failure = err;
    }
    assert.match(String(failure), /GET \/reports declares no access/);
  } finally {
    await other.close().catch(() => undefined);
  }
});

test.run();
