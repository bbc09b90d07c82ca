/**
 * The team as panels see it, against a real redis-server: GET /api/team, the push socket's hello and
 * its `member` / `member-gone` events for every change (workstation, pause, the sip app's agent
 * scripts, disabling, another panel opening and closing), and `online` agreed through Redis by several
 * signaling instances, including one that died.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presenceDot, type PushEvent, type TeamMember, type Workstation } from '@deskline/protocol';
import { RedisKeys, browserSipUser } from '@deskline/store';
import { AgentStore } from '@deskline/sip/routing/agent-store';
import { Presence } from '@deskline/signaling/services/presence';
import { memberEvent, PushEvents } from '../../helpers/push-events.js';
import { waitFor } from '../../helpers/wait.js';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const HEARTBEAT_SECONDS = 1;
const fixture = useFreshApp(test, { PRESENCE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) });
let anna: LoggedIn;
let ben: LoggedIn;
let maria: LoggedIn;
let desk: Workstation;
const open: PushEvents[] = [];

test.before.each(async () => {
  const { app } = fixture;
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  desk = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
});

test.after.each(async () => {
  for (const panel of open.splice(0)) panel.socket.terminate();
});

async function panel(who: LoggedIn, app = fixture.app): Promise<PushEvents> {
  const events = await PushEvents.open(app, who);
  open.push(events);
  return events;
}

function hello(events: PushEvents) {
  return events.waitFor('the hello', (event): event is Extract<PushEvent, { type: 'hello' }> => event.type === 'hello');
}

test('GET /api/team lists every enabled user by name with state, workstation and presence; avatars when uploaded', async () => {
  const { app, db } = fixture;
  await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id });
  await db.hset(`user:${ben.info.user.id}`, 'avatarVersion', '3');
  const response = await asUser(app, ben, 'GET', '/api/team');
  assert.is(response.statusCode, 200);
  const team = response.json<TeamMember[]>();
  assert.equal(team, [
    {
      userId: anna.info.user.id,
      displayName: 'anna',
      role: 'employee',
      state: 'available',
      workstation: { id: desk.id, name: 'Reception 1', kind: 'browser' },
      online: false,
    },
    {
      userId: ben.info.user.id,
      displayName: 'ben',
      role: 'employee',
      avatarUrl: `/api/users/${ben.info.user.id}/avatar?v=3`,
      state: 'offline',
      online: false,
    },
    { userId: maria.info.user.id, displayName: 'maria', role: 'manager', state: 'offline', online: false },
  ]);
  await app.accounts.disable(ben.info.user.id);
  const after = (await asUser(app, anna, 'GET', '/api/team')).json<TeamMember[]>();
  assert.equal(
    after.map((member) => member.displayName),
    ['anna', 'maria'],
    'a disabled user is not in the team',
  );
  assert.is((await app.inject({ method: 'GET', url: '/api/team' })).statusCode, 401);
});

test('the hello carries the team with this user online; another panel opening and closing is pushed at once', async () => {
  const annaPanel = await panel(anna);
  const first = await hello(annaPanel);
  const me = first.event.team.find((member) => member.userId === anna.info.user.id);
  assert.is(me?.online, true, 'the hello already shows its own user online');
  assert.is(first.event.team.find((member) => member.userId === ben.info.user.id)?.online, false);

  const from = annaPanel.mark();
  const opened = Date.now();
  const benPanel = await panel(ben);
  const online = await annaPanel.waitFor(
    'ben online',
    memberEvent(ben.info.user.id, (m) => m.online),
    from,
  );
  console.log(`  ben's panel opened -> anna's panel told in ${online.at - opened} ms`);
  assert.ok(online.at - opened < 1000);

  // A second tab of Ben's changes nothing; closing the last one makes him offline at once.
  const second = await panel(ben);
  await hello(second);
  const mark = annaPanel.mark();
  second.socket.terminate();
  benPanel.socket.terminate();
  const closedAt = Date.now();
  const offline = await annaPanel.waitFor(
    'ben offline',
    memberEvent(ben.info.user.id, (m) => !m.online),
    mark,
  );
  assert.ok(offline.at - closedAt < 1000, `${offline.at - closedAt} ms`);
  assert.is(await fixture.db.zscore(RedisKeys.onlineUsers, ben.info.user.id), null);
});

test('a workstation, a pause, "+5 minutes" and "I\'m back" each reach the other panels as a member event', async () => {
  const { app } = fixture;
  const benPanel = await panel(ben);
  await panel(anna);
  await hello(benPanel);
  const annaId = anna.info.user.id;
  const step = async (what: string, request: () => Promise<unknown>, expect: (m: TeamMember) => boolean) => {
    const from = benPanel.mark();
    const started = Date.now();
    await request();
    const seen = await benPanel.waitFor(what, memberEvent(annaId, expect), from);
    return seen.at - started;
  };

  await step(
    'anna available',
    () => asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id }),
    (m) => m.state === 'available' && m.workstation?.id === desk.id,
  );
  let pausedUntil = 0;
  const pauseLatency = await step(
    'anna paused',
    async () =>
      (pausedUntil = (await asUser(app, anna, 'PUT', '/api/pause', { minutes: 5 })).json<{ pausedUntil: number }>()
        .pausedUntil),
    (m) => m.state === 'paused' && m.pausedUntil !== undefined,
  );
  const last = benPanel.seen.at(-1)?.event;
  assert.ok(
    last?.type === 'member' && last.member.pausedUntil === pausedUntil && presenceDot(last.member) === 'inactive',
    'the grey dot',
  );
  await step(
    'anna extended',
    () => asUser(app, anna, 'POST', '/api/pause/extend', { minutes: 5 }),
    (m) => m.pausedUntil === pausedUntil + 300_000,
  );
  const backLatency = await step(
    'anna back',
    () => asUser(app, anna, 'DELETE', '/api/pause'),
    (m) => m.state === 'available' && m.pausedUntil === undefined && presenceDot(m) === 'available',
  );
  await step(
    'anna paused again',
    () => app.agents.pause(annaId, 800),
    (m) => m.state === 'paused',
  );
  const from = benPanel.mark();
  const ended = await benPanel.waitFor(
    'the pause over by itself',
    memberEvent(annaId, (m) => m.state === 'available'),
    from,
    5000,
  );
  const endedAt = Number(await fixture.db.hget(RedisKeys.agent(annaId), 'lastPauseEndedAt'));
  console.log(
    `  pause -> other panel ${pauseLatency} ms; I'm back -> other panel ${backLatency} ms; pause over by itself -> other panel ${ended.at - endedAt} ms`,
  );
  assert.ok(pauseLatency < 1000 && backLatency < 1000 && ended.at - endedAt < 1000);
  await step(
    'anna left',
    () => asUser(app, anna, 'DELETE', '/api/workstation'),
    (m) => m.state === 'offline' && m.workstation === undefined,
  );
});

test("the sip app's agent scripts (claim, answer, release) reach the panels; disabling a user is member-gone", async () => {
  const { app, db } = fixture;
  const annaId = anna.info.user.id;
  const benPanel = await panel(ben);
  await hello(benPanel);
  await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id });
  await db.set(RedisKeys.sipRegistration(browserSipUser(desk.id)), 'sip:x@y.invalid;transport=ws', 'EX', 60);
  await db.zadd(RedisKeys.waitingCalls, Date.now(), 'call-1');
  const agents = new AgentStore(db);
  const agent = { userId: annaId, workstationId: desk.id, kind: 'browser' as const, sipUser: browserSipUser(desk.id) };
  let from = benPanel.mark();
  assert.is(await agents.claim(agent, 'call-1'), 'claimed');
  const ringing = await benPanel.waitFor(
    'anna ringing',
    memberEvent(annaId, (m) => m.state === 'ringing'),
    from,
  );
  assert.is(presenceDot(ringing.event.member), 'busy');
  from = benPanel.mark();
  assert.is(await agents.answered(annaId, 'call-1'), true);
  await benPanel.waitFor(
    'anna on a call',
    memberEvent(annaId, (m) => m.state === 'on-call'),
    from,
  );
  from = benPanel.mark();
  assert.is(await agents.release(annaId, 'call-1'), true);
  await benPanel.waitFor(
    'anna available',
    memberEvent(annaId, (m) => m.state === 'available'),
    from,
  );

  from = benPanel.mark();
  await asUser(app, maria, 'POST', `/api/users/${annaId}/disable`);
  await benPanel.waitFor(
    'anna gone',
    (event): event is Extract<PushEvent, { type: 'member-gone' }> =>
      event.type === 'member-gone' && event.userId === annaId,
    from,
  );
});

test("several signaling instances agree: a user stays online while any holds a socket; a dead instance's users go offline after the timeout", async () => {
  const { app, db, redisUrl } = fixture;
  const other = await buildTestApp(redisUrl, { PRESENCE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) });
  try {
    const annaPanel = await panel(anna);
    await hello(annaPanel);
    const benHere = await panel(ben);
    const benThere = await panel(ben, other);
    await hello(benHere);
    await hello(benThere);
    const mark = annaPanel.mark();
    benHere.socket.terminate();
    await benHere.closed;
    const closedAt = Date.now();
    // Ben's socket on the other instance keeps him online: wait for its heartbeat after the close.
    await waitFor(
      "the other instance's heartbeat",
      async () => Number(await db.zscore(RedisKeys.onlineUsers, ben.info.user.id)) > closedAt,
      HEARTBEAT_SECONDS * 3000,
    );
    assert.not.ok(
      annaPanel.seen.slice(mark).some((seen) => memberEvent(ben.info.user.id, (m) => !m.online)(seen.event)),
      'never offline',
    );
    const team = (await asUser(app, anna, 'GET', '/api/team')).json<TeamMember[]>();
    assert.is(team.find((member) => member.userId === ben.info.user.id)?.online, true);

    // An instance that died leaves its entry behind; nobody refreshes it, and the sweep takes it away.
    const dead = new Presence(db, 'instance-that-died', HEARTBEAT_SECONDS * 3000);
    await dead.touch(maria.info.user.id);
    const from = annaPanel.mark();
    const touched = Date.now();
    await annaPanel.waitFor(
      'maria online',
      memberEvent(maria.info.user.id, (m) => m.online),
      from,
    );
    const offline = await annaPanel.waitFor(
      'maria offline after the timeout',
      memberEvent(maria.info.user.id, (m) => !m.online),
      from,
      10_000,
    );
    const after = offline.at - touched;
    console.log(
      `  a dead instance's user went offline ${after} ms after its last heartbeat (timeout ${HEARTBEAT_SECONDS * 3000} ms)`,
    );
    assert.ok(after >= HEARTBEAT_SECONDS * 3000 && after < HEARTBEAT_SECONDS * 3000 + 2500, `${after} ms`);
  } finally {
    await other.close();
  }
});

test.run();
