/**
 * Two signaling instances behind Caddy, restarted one after the other while the clinic works (issue
 * 12, docs/scaling.md "Two signaling instances"). Real parts: redis-server, two `node
 * signaling/dist/server.js` processes, Debian's caddy running the repository's Caddyfile with both as
 * SIGNALING_UPSTREAMS (HTTPS, `tls internal`), Kamailio for the browsers' phones (through Caddy's
 * /sip), and two Chromium panels logged in through Caddy: Anna, an employee ready at Reception 1, and
 * Maria, a manager without a workstation. Ben, a colleague at Reception 2, works through the API.
 * The patients' calls are written to Redis by the sip app's own CallStore, as the sip app writes them.
 *
 * While instance A drains (SIGTERM, SHUTDOWN_DRAIN_SECONDS) Ben pauses, and the moment it closes its
 * sockets a patient's call arrives. While B stops (every panel is on B by then), the moment its
 * sockets close that patient hangs up, a call Ben answered ends (a wrap-up task that only Ben and the
 * manager may see), Ben closes an earlier task (Anna has her Closed tab open), and all along Ben
 * extends his pause, one request after another through Caddy. Every panel must show every change,
 * none may show the login page, Anna must stay Available, Anna's panel never gets Ben's wrap-ups, and
 * Ben's pause must be exactly what his answered requests made it. Printed: how long each instance
 * took to stop, how long each panel was without its push socket, and how long each change took to
 * reach each panel and to show.
 */
import https from 'node:https';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  type AgentStatus,
  type CallView,
  type PushEvent,
  type SessionInfo,
  type TaskView,
  type TeamMember,
  type Workstation,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { CallStore } from '@deskline/sip/calls/call-store';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { ManagedProcess, waitUntilHealthy } from '@deskline/scripts/managed-process';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { startTestCaddy, type TestCaddy } from '../../helpers/caddy.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { killOnExit } from '../../helpers/kill-on-exit.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { Staff } from '../../helpers/staff.js';
import { waitFor } from '../../helpers/wait.js';
import { logIn } from '../../helpers/web-stack.js';

/** Generous: other test runs share this machine's two cores. */
const TIMEOUT = 15_000;
/** SHUTDOWN_DRAIN_SECONDS, as docker-compose.yml sets it. */
const DRAIN_SECONDS = 2;
const HOST = 'phones.clinic.example';
/** Ben's pause (15 minutes) plus this many 1-minute extends stays under the 4-hour maximum. */
const MAX_EXTENDS = 200;
/** Ben's extends during B's stop come this often: about 100 over the drain and the close. */
const EXTEND_EVERY_MS = 20;
const WAITING_PATIENT = '+4915112340001';
const BENS_PATIENT = '+4915112340002';
/** Ben's patient from before B's stop, whose task he closes while B stops. */
const CLOSED_PATIENT = '+4915112340003';

interface Instance {
  name: string;
  port: number;
  proc: ManagedProcess;
  /** What it logged (LOG_LEVEL info: a line for each request). */
  lines: string[];
}

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let caddy: TestCaddy;
let origin: string;
const instances: Instance[] = [];
let annaBrowser: TestBrowser;
let mariaBrowser: TestBrowser;
let anna: Page;
let maria: Page;
let annaId: string;
let benId: string;
let mariaId: string;
let ben: { cookie: string; csrf: string };
let benDesk: Workstation;
let subjectId: string;
const pageErrors: string[] = [];

/** What each panel's push sockets did: when one closed, when a hello came, and every event. */
interface PanelLog {
  closes: number[];
  hellos: number[];
  events: Array<{ at: number; event: PushEvent }>;
  /** Answers of status 401: the app would show the login page. */
  unauthorized: string[];
}
const logs = new Map<Page, PanelLog>();

function signalingEnv(port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redis.url,
    PUBLIC_ORIGIN: origin,
    COOKIE_SECURE: 'true',
    TRUST_PROXY: 'true',
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
    SIP_WS_URL: `wss://${HOST}:${new URL(origin).port}/sip`,
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    PRESENCE_HEARTBEAT_SECONDS: '2',
    SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
    LOG_LEVEL: 'info',
  };
}

async function startInstance(name: string, port: number, lines: string[]): Promise<ManagedProcess> {
  const proc = killOnExit(
    ManagedProcess.start({
      name,
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'signaling/dist/server.js')],
      env: signalingEnv(port),
      onLine: (line) => lines.push(line),
    }),
  );
  const healthy = (): Promise<boolean> =>
    fetch(`http://127.0.0.1:${port}/api/health`).then(
      (response) => response.ok,
      () => false,
    );
  await waitUntilHealthy(proc, healthy, TIMEOUT);
  return proc;
}

/** A request through Caddy, as Ben's browser would send it. */
function request(
  method: string,
  pathname: string,
  body?: object,
  who = ben,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: Number(new URL(origin).port),
        method,
        path: pathname,
        servername: HOST,
        rejectUnauthorized: false,
        timeout: TIMEOUT,
        headers: {
          host: new URL(origin).host,
          origin,
          ...(who.cookie ? { cookie: `${SESSION_COOKIE}=${who.cookie}` } : {}),
          ...(who.csrf ? { [CSRF_HEADER]: who.csrf } : {}),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const cookie = /dl_session=([^;]+)/.exec(String(res.headers['set-cookie'] ?? ''))?.[1];
          if (cookie) who.cookie = cookie;
          resolve({ status: res.statusCode ?? 0, body: text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: no answer`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Records what `page`'s push sockets do, from before it opens the app. */
function watch(page: Page): void {
  const log: PanelLog = { closes: [], hellos: [], events: [], unauthorized: [] };
  logs.set(page, log);
  page.on('response', (response) => {
    if (response.status() === 401) log.unauthorized.push(response.url());
  });
  page.on('websocket', (socket) => {
    if (!socket.url().endsWith('/api/push')) return;
    socket.on('framereceived', ({ payload }) => {
      const event = JSON.parse(String(payload)) as PushEvent;
      const at = Date.now();
      log.events.push({ at, event });
      if (event.type === 'hello') log.hellos.push(at);
    });
    socket.on('close', () => log.closes.push(Date.now()));
  });
}

let seq = 0;
/** A call's new state, recorded by the sip app's own CallStore (hash, sets and event in one MULTI). */
async function callEvent(call: CallView): Promise<number> {
  const at = Date.now();
  await new CallStore(db).record(call);
  return at;
}

function queueOf(page: Page) {
  return page.getByRole('region', { name: /^Queue/ });
}

function dotOf(page: Page, name: string) {
  return page.getByRole('region', { name: 'Team' }).getByRole('listitem', { name }).getByRole('img');
}

function pausedUntilLabel(page: Page, until: number): Promise<string> {
  return page.evaluate(
    (t) => `Paused until ${new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(t)}`,
    until,
  );
}

/** When `page`'s push socket first carried what `has` looks for (in an event, or in a hello), from `since` on. */
function receivedAt(page: Page, since: number, has: (event: PushEvent) => boolean): number | undefined {
  return logs.get(page)?.events.find(({ at, event }) => at >= since && has(event))?.at;
}

interface Shown {
  what: string;
  /** From the change in Redis to the panel's socket receiving it. */
  received: number | undefined;
  /** To the page showing it, as Playwright's polling of the page sees it (an upper bound). */
  shown: number;
}

/** Waits until every panel shows a change (`shown`), and records how long it took to receive (`has`) and show. */
async function onEveryPanel(
  what: string,
  since: number,
  has: (event: PushEvent) => boolean,
  shown: (page: Page) => Promise<void>,
  into: Shown[],
): Promise<void> {
  await Promise.all(
    [anna, maria].map(async (page) => {
      await shown(page).catch(async (error: Error) => {
        const log = logs.get(page);
        throw new Error(
          `${page === anna ? 'Anna' : 'Maria'}'s panel did not show ${what}: ${error.message}\nqueue: ${await queueOf(
            page,
          )
            .innerText()
            .catch(
              () => '?',
            )}\nsocket closes ${JSON.stringify(log?.closes)}, hellos ${JSON.stringify(log?.hellos)}, since ${since}; last events ${JSON.stringify(log?.events.slice(-3))}`,
        );
      });
      const received = receivedAt(page, since, has);
      into.push({
        what: `${what} (${page === anna ? 'Anna' : 'Maria'})`,
        received: received === undefined ? undefined : received - since,
        shown: Date.now() - since,
      });
    }),
  );
}

/** Resolves when `instance` closes its push sockets (a panel sees its socket close), or has exited. */
async function socketsClosing(instance: Instance, since: number): Promise<void> {
  await waitFor(
    `${instance.name} closing its sockets`,
    () => !instance.proc.running || [...logs.values()].some((log) => log.closes.some((at) => at >= since)),
    TIMEOUT,
  );
}

/**
 * Stops `instance` with SIGTERM while `during` runs, then starts it again, and waits until Caddy sends
 * it requests again (its health check runs every second), as clinic IT waits for `docker compose ps`
 * to show it healthy before the next one. Answers how long the stop took.
 */
async function rollingRestart(instance: Instance, during: () => Promise<void>): Promise<number> {
  const started = performance.now();
  instance.proc.signal('SIGTERM');
  const stopped = instance.proc.exited.then((status) => ({ status, ms: performance.now() - started }));
  const [{ status, ms }] = await Promise.all([stopped, during()]);
  assert.equal(status, { code: 0, signal: null }, `${instance.name} stopped cleanly`);
  instance.lines.length = 0;
  instance.proc = await startInstance(instance.name, instance.port, instance.lines);
  await waitFor(
    `Caddy sending requests to the restarted ${instance.name}`,
    async () => {
      await request('GET', '/api/team');
      return instance.lines.some((line) => line.includes('"url":"/api/team"'));
    },
    TIMEOUT,
  );
  return ms;
}

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  const setup = await buildTestApp(redis.url, { SIP_DOMAIN: kamailio.domain });
  const clinic = await createClinic(setup, {
    staff: ['anna', 'ben', 'maria'],
    workstations: ['reception1', 'reception2'],
  });
  annaId = clinic.staff.anna.id;
  benId = clinic.staff.ben.id;
  mariaId = clinic.staff.maria.id;
  benDesk = clinic.workstations.reception2;
  subjectId = (await setup.subjects.create({ name: 'Appointment' })).id;
  await setup.close();
  await new Staff(db, kamailio.domain).available(benId, benDesk.id);

  const ports = [await freePort(), await freePort()];
  caddy = await startTestCaddy({
    PUBLIC_HOSTNAME: HOST,
    CADDY_TLS: 'tls internal',
    SIGNALING_UPSTREAMS: ports.map((port) => `127.0.0.1:${port}`).join(' '),
    SIP_LISTEN_HOST: '127.0.0.1',
    SIP_WS_PORT: String(kamailio.wsPort),
  });
  origin = `https://${HOST}:${caddy.httpsPort}`;
  for (const [index, port] of ports.entries()) {
    const name = `signaling-${'AB'[index]}`;
    const lines: string[] = [];
    instances.push({ name, port, lines, proc: await startInstance(name, port, lines) });
  }

  const args = ['--ignore-certificate-errors', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`];
  annaBrowser = await launchBrowser({ args });
  mariaBrowser = await launchBrowser({ args });
  anna = await logIn(annaBrowser, origin, STAFF.anna.email, STAFF.anna.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
    watch,
  });
  maria = await logIn(mariaBrowser, origin, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
    watch,
  });
  await anna.getByRole('button', { name: 'Reception 1' }).click();
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();

  // The page asked /api/me before the login (401): only what comes after counts.
  for (const log of logs.values()) log.unauthorized.length = 0;
  ben = { cookie: '', csrf: '' };
  const login = await request('POST', '/api/auth/login', { email: STAFF.ben.email, password: STAFF.ben.password });
  assert.is(login.status, 200, login.body);
  ben.csrf = (JSON.parse(login.body) as SessionInfo).csrfToken;
});

test.after(async () => {
  await annaBrowser?.close();
  await mariaBrowser?.close();
  await caddy?.stop();
  for (const instance of instances) await instance.proc.stop();
  await kamailio?.stop();
  db?.disconnect();
  await redis?.stop();
});

test('rolling restart of two signaling instances: every panel shows every change, stays logged in, and presence and pauses hold', async () => {
  const [a, b] = instances as [Instance, Instance];
  const shownIn: Shown[] = [];
  for (const page of [anna, maria])
    await dotOf(page, 'Anna Reception')
      .and(page.getByRole('img', { name: 'Available' }))
      .waitFor({ timeout: TIMEOUT });

  // Instance A stops: a patient's call arrives, and Ben pauses incoming calls for 15 minutes.
  const now = Date.now();
  const waiting: CallView = {
    id: `restart-call-${++seq}`,
    from: WAITING_PATIENT,
    line: '100',
    state: 'intro',
    startedAt: now,
  };
  let benPause: AgentStatus | undefined;
  const stopA = await rollingRestart(a, async () => {
    const signalled = Date.now();
    // While A drains, Ben pauses; when its sockets close, the patient's call arrives.
    const pauseSent = Date.now();
    const answer = await request('PUT', '/api/pause', { minutes: 15 });
    assert.is(answer.status, 200, `Ben's pause during the restart: ${answer.body}`);
    benPause = JSON.parse(answer.body) as AgentStatus;
    const label = await pausedUntilLabel(anna, benPause.pausedUntil ?? 0);
    const isPaused = (member: TeamMember): boolean => member.userId === benId && member.state === 'paused';
    const hasPause = (e: PushEvent): boolean =>
      (e.type === 'member' && isPaused(e.member)) || (e.type === 'hello' && e.team.some(isPaused));
    await onEveryPanel(
      "Ben's pause",
      pauseSent,
      hasPause,
      (page) =>
        dotOf(page, 'Ben Reception')
          .and(page.getByRole('img', { name: label }))
          .waitFor({ timeout: TIMEOUT }),
      shownIn,
    );
    await socketsClosing(a, signalled);
    await callEvent(waiting);
    const queued = await callEvent({ ...waiting, state: 'waiting', queuedAt: Date.now() });
    const isWaiting = (call: CallView): boolean => call.id === waiting.id && call.state === 'waiting';
    const hasWaiting = (e: PushEvent): boolean =>
      (e.type === 'call' && isWaiting(e.call)) || (e.type === 'hello' && e.calls.some(isWaiting));
    await onEveryPanel(
      'a patient waits in the queue',
      queued,
      hasWaiting,
      (page) =>
        queueOf(page)
          .getByRole('listitem')
          .filter({ hasText: WAITING_PATIENT })
          .getByText('Waiting')
          .waitFor({ timeout: TIMEOUT }),
      shownIn,
    );
    const isTask = (task: TaskView): boolean => task.call?.id === waiting.id;
    const hasTask = (e: PushEvent): boolean =>
      (e.type === 'task' && isTask(e.task)) || (e.type === 'hello' && e.tasks.some(isTask));
    await onEveryPanel(
      'their task on the board',
      queued,
      hasTask,
      (page) => taskOf(page, WAITING_PATIENT).waitFor({ timeout: TIMEOUT }),
      shownIn,
    );
  });

  // Between the two: a call Ben answered ends; its wrap-up is on Maria's board (not on Anna's, it is
  // Ben's), and Ben gives it a subject. Anna opens her Closed tab.
  const earlier: CallView = {
    id: `restart-call-${++seq}`,
    from: CLOSED_PATIENT,
    line: '100',
    state: 'intro',
    startedAt: Date.now(),
    queuedAt: Date.now(),
  };
  const ben1 = { agentUserId: benId, workstationId: benDesk.id };
  await callEvent({ ...earlier, state: 'ringing', ...ben1 });
  await callEvent({ ...earlier, state: 'bridged', ...ben1, answeredAt: Date.now() });
  await callEvent({ ...earlier, state: 'ended', ...ben1, answeredAt: Date.now(), endedAt: Date.now() });
  await taskOf(maria, CLOSED_PATIENT).waitFor({ timeout: TIMEOUT });
  const earlierTask = await waitFor('the task of the earlier call', () => db.get(RedisKeys.callTask(earlier.id)));
  const subject = await request('PATCH', `/api/tasks/${earlierTask}`, { subjectId });
  assert.is(subject.status, 200, subject.body);
  await openTab(anna, 'Closed');
  await board(anna)
    .getByRole('tab', { name: /^Closed/, selected: true })
    .waitFor({ timeout: TIMEOUT });

  // Instance B stops: the patient hangs up, a call Ben answered ends, Ben closes the earlier task,
  // and he asks for more minutes one request after another (each extends the pause: one applied
  // twice would show).
  const bens: CallView = {
    id: `restart-call-${++seq}`,
    from: BENS_PATIENT,
    line: '100',
    state: 'intro',
    startedAt: Date.now(),
    queuedAt: Date.now(),
  };
  const extendAnswers: Array<{ status: number; body: string }> = [];
  let stopping = true;
  const stopB = await rollingRestart(b, async () => {
    const signalled = Date.now();
    const extending = (async () => {
      while (stopping && extendAnswers.length < MAX_EXTENDS) {
        extendAnswers.push(
          await request('POST', '/api/pause/extend', { minutes: 1 }).catch((error: Error) => ({
            status: 0,
            body: error.message,
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, EXTEND_EVERY_MS));
      }
    })();
    // When B's sockets close (every panel is on B now), the patient hangs up, Ben's call ends and he
    // closes the earlier task.
    await socketsClosing(b, signalled);
    const closing = request('POST', `/api/tasks/${earlierTask}/close`);
    const hungUp = await callEvent({ ...waiting, state: 'abandoned', queuedAt: now, endedAt: Date.now() });
    await callEvent({ ...bens, state: 'ringing', agentUserId: benId, workstationId: benDesk.id });
    await callEvent({
      ...bens,
      state: 'bridged',
      agentUserId: benId,
      workstationId: benDesk.id,
      answeredAt: Date.now(),
    });
    const ended = await callEvent({
      ...bens,
      state: 'ended',
      agentUserId: benId,
      workstationId: benDesk.id,
      answeredAt: Date.now(),
      endedAt: Date.now(),
    });
    const hasHungUp = (e: PushEvent): boolean =>
      (e.type === 'call' && e.call.id === waiting.id && e.call.state === 'abandoned') ||
      (e.type === 'hello' && !e.calls.some((call) => call.id === waiting.id));
    await onEveryPanel(
      'the patient who hung up leaves the queue',
      hungUp,
      hasHungUp,
      (page) => queueOf(page).getByText('No patients waiting').waitFor({ timeout: TIMEOUT }),
      shownIn,
    );
    const isUnanswered = (task: TaskView): boolean => task.call?.id === waiting.id && task.status === 'unanswered';
    const hasUnanswered = (e: PushEvent): boolean =>
      (e.type === 'task' && isUnanswered(e.task)) || (e.type === 'hello' && e.tasks.some(isUnanswered));
    await onEveryPanel(
      'their task is Unanswered',
      hungUp,
      hasUnanswered,
      (page) => board(page).getByRole('tab', { name: 'Unanswered 1' }).waitFor({ timeout: TIMEOUT }),
      shownIn,
    );
    await taskOf(maria, BENS_PATIENT).getByText(/wrap/i).first().waitFor({ timeout: TIMEOUT });
    const isWrapUp = (task: TaskView): boolean => task.call?.id === bens.id && task.status === 'wrap-up';
    const wrapUp = receivedAt(
      maria,
      ended,
      (e) => (e.type === 'task' && isWrapUp(e.task)) || (e.type === 'hello' && e.tasks.some(isWrapUp)),
    );
    shownIn.push({
      what: "Ben's wrap-up task (Maria)",
      received: wrapUp === undefined ? undefined : wrapUp - ended,
      shown: Date.now() - ended,
    });
    const closed = await closing;
    assert.is(closed.status, 200, `Ben's close during the restart: ${closed.body}`);
    // On Anna's open Closed tab (pushed, or read again once her socket is back), off Maria's Pending.
    await taskOf(anna, CLOSED_PATIENT).waitFor({ timeout: TIMEOUT });
    await taskOf(maria, CLOSED_PATIENT).waitFor({ state: 'detached', timeout: TIMEOUT });
    // The extends go on until B has exited, so some arrive while it stops.
    await b.proc.exited;
    stopping = false;
    await extending;
  });
  stopping = false;

  // After both restarts: nothing missing, nothing extra, nobody logged out.
  for (const page of [anna, maria]) {
    await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
    assert.is(await page.getByRole('button', { name: 'Log in' }).count(), 0, 'no panel shows the login page');
    await dotOf(page, 'Anna Reception')
      .and(page.getByRole('img', { name: 'Available' }))
      .waitFor({ timeout: TIMEOUT });
    await openTab(page, 'Unanswered');
    await taskOf(page, WAITING_PATIENT).waitFor({ timeout: TIMEOUT });
    await openTab(page, 'Pending');
  }
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  await taskOf(maria, BENS_PATIENT).waitFor({ timeout: TIMEOUT });
  assert.is(await taskOf(anna, BENS_PATIENT).count(), 0, "Ben's wrap-up is not on Anna's board");

  // Ben's pause: every answered extend added its minute once, and nothing else changed it.
  assert.ok(extendAnswers.length > 0);
  // None failed: the drain took B out of Caddy's rotation before it stopped.
  for (const answer of extendAnswers) assert.is(answer.status, 200, `extend answered ${answer.status}: ${answer.body}`);
  const extended = extendAnswers.filter((answer) => answer.status === 200).length;
  const status = JSON.parse((await request('GET', '/api/pause')).body) as AgentStatus;
  assert.is(status.state, 'paused');
  assert.is(
    status.pausedUntil,
    (benPause?.pausedUntil ?? 0) + extended * 60_000,
    `${extended} extends answered 200 of ${extendAnswers.length}`,
  );
  const label = await pausedUntilLabel(anna, status.pausedUntil ?? 0);
  for (const page of [anna, maria])
    await dotOf(page, 'Ben Reception')
      .and(page.getByRole('img', { name: label }))
      .waitFor({ timeout: TIMEOUT });

  // What the panels lived through.
  const gaps: string[] = [];
  for (const [page, log] of logs) {
    const who = page === anna ? 'Anna' : 'Maria';
    assert.equal(log.unauthorized, [], `${who}'s panel got no 401`);
    assert.ok(log.closes.length >= 1, `${who}'s push socket was closed by a restart`);
    for (const closed of log.closes) {
      const hello = log.hellos.find((at) => at >= closed);
      assert.ok(hello !== undefined, `${who}'s panel reconnected after the close at ${closed}`);
      gaps.push(`${who} ${(hello ?? 0) - closed} ms`);
    }
    for (const { event } of log.events) {
      if (event.type === 'member' && (event.member.userId === annaId || event.member.userId === mariaId)) {
        assert.ok(event.member.online, `${who}'s panel never saw ${event.member.displayName} offline`);
      }
      const bensOpen = (task: TaskView): boolean => task.assigneeUserId === benId && task.status === 'wrap-up';
      if (event.type === 'task' && bensOpen(event.task) && page === anna)
        assert.unreachable("Anna's panel was sent Ben's wrap-up task");
      if (event.type === 'hello' && page === anna)
        assert.not.ok(event.tasks.some(bensOpen), "Anna's hello holds no task of Ben's");
    }
  }
  assert.equal(pageErrors, []);
  console.log(
    `signaling rolling restart: stop took A ${Math.round(stopA)} ms, B ${Math.round(stopB)} ms; panels without their push socket: ${gaps.join(', ')}; ` +
      `${extended} of ${extendAnswers.length} extends during B's stop answered 200 (the rest ${
        extendAnswers
          .filter((x) => x.status !== 200)
          .map((x) => `${x.status} ${x.body}`)
          .slice(0, 3)
          .join(' ') || 'none'
      }); ` +
      `received / shown after: ${shownIn.map((s) => `${s.what} ${s.received ?? '?'} / ${s.shown} ms`).join('; ')}`,
  );
});

test.run();
