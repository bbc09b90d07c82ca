/**
 * Pausing incoming calls through the API, against a real redis-server: start, "+5 minutes", "I'm
 * back", the server ending a pause on time by itself (also across a restart of signaling), and the
 * calls missed meanwhile. Short pauses are started through the agent service, which takes
 * milliseconds; the HTTP API takes whole minutes (docs/presence-and-pause.md).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentStatus, type ApiError, type MissedCalls, type Workstation } from '@deskline/protocol';
import { RedisChannels, RedisKeys, RedisStreams } from '@deskline/store';
import { AgentService } from '@deskline/signaling/services/agent-service';
import { WorkstationStore } from '@deskline/signaling/services/workstation-store';
import { CallStore } from '@deskline/sip/calls/call-store';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';
import { waitFor } from '../../helpers/wait.js';

const MINUTE = 60_000;
const fixture = useFreshApp(test);
let anna: LoggedIn;
let annaId: string;
let desk1: Workstation;
let desk2: Workstation;

test.before.each(async () => {
  const { app } = fixture;
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  annaId = anna.info.user.id;
  desk1 = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  desk2 = await app.workstations.create({ name: 'Reception 2', kind: 'browser' });
});

const pick = (ws: Workstation) => asUser(fixture.app, anna, 'PUT', '/api/workstation', { workstationId: ws.id });
const pause = (minutes: number) => asUser(fixture.app, anna, 'PUT', '/api/pause', { minutes });

async function teamEventsFor(userId: string): Promise<number> {
  const entries = await fixture.db.xrange(RedisStreams.teamEvents, '-', '+');
  return entries.filter(([, fields]) => fields[1] === userId).length;
}

test('pausing without a workstation is refused with 409 and a message that says what to do', async () => {
  const response = await pause(5);
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'Choose a workstation before pausing incoming calls.');
  assert.is(await fixture.db.zscore(RedisKeys.pauseEnds, annaId), null);
});

test('PUT /api/pause answers the paused status; the agent leaves agents:idle, the end is scheduled, panels and timers are told', async () => {
  await pick(desk1);
  const changes = await ChannelRecorder.subscribe<string>(fixture.redisUrl, RedisChannels.pauseChanged);
  try {
    const eventsBefore = await teamEventsFor(annaId);
    const before = Date.now();
    const response = await pause(10);
    assert.is(response.statusCode, 200);
    const status = response.json<AgentStatus>();
    assert.is(status.state, 'paused');
    assert.is(status.workstation?.name, 'Reception 1');
    assert.ok(status.pausedAt! >= before && status.pausedAt! <= Date.now(), 'pausedAt is now');
    assert.is(status.pausedUntil, status.pausedAt! + 10 * MINUTE);
    assert.is(await fixture.db.zscore(RedisKeys.idleAgents, annaId), null, 'out of agents:idle');
    assert.is(Number(await fixture.db.zscore(RedisKeys.pauseEnds, annaId)), status.pausedUntil);
    assert.is(await fixture.db.hget(RedisKeys.agent(annaId), 'state'), 'paused');
    assert.is(await teamEventsFor(annaId), eventsBefore + 1, 'one team event');
    await changes.waitFor((message) => message === annaId, 'pause:changed');
    const read = await asUser(fixture.app, anna, 'GET', '/api/workstation');
    assert.equal(read.json<AgentStatus>(), status, 'GET /api/workstation tells the same');
  } finally {
    changes.close();
  }
});

test('+5 minutes moves the end by 5 minutes and keeps the start; a new duration replaces the end; at most 4 hours', async () => {
  await pick(desk1);
  const first = (await pause(60)).json<AgentStatus>();
  const extended = await asUser(fixture.app, anna, 'POST', '/api/pause/extend', { minutes: 5 });
  assert.is(extended.statusCode, 200);
  assert.is(extended.json<AgentStatus>().pausedUntil, first.pausedUntil! + 5 * MINUTE);
  assert.is(extended.json<AgentStatus>().pausedAt, first.pausedAt);
  assert.is(Number(await fixture.db.zscore(RedisKeys.pauseEnds, annaId)), first.pausedUntil! + 5 * MINUTE);

  const replaced = (await pause(15)).json<AgentStatus>();
  assert.is(replaced.pausedAt, first.pausedAt, 'the same pause, with a new end');
  assert.ok(Math.abs(replaced.pausedUntil! - (Date.now() + 15 * MINUTE)) < 1000);

  const tooLong = await pause(240);
  assert.is(tooLong.statusCode, 409, 'the start stays, so 240 more minutes would pass 4 hours');
  assert.is(tooLong.json<ApiError>().message, 'A pause lasts at most 4 hours.');
  const longest = (await pause(235)).json<AgentStatus>();
  const beyond = await asUser(fixture.app, anna, 'POST', '/api/pause/extend', { minutes: 5 });
  assert.is(beyond.statusCode, 409);
  assert.is(
    (await asUser(fixture.app, anna, 'GET', '/api/pause')).json<AgentStatus>().pausedUntil,
    longest.pausedUntil,
    'unchanged',
  );
});

test('extending when not paused is 409; bad bodies are 400; a request without the CSRF token is 403', async () => {
  await pick(desk1);
  const notPaused = await asUser(fixture.app, anna, 'POST', '/api/pause/extend', { minutes: 5 });
  assert.is(notPaused.statusCode, 409);
  assert.is(notPaused.json<ApiError>().message, 'Incoming calls are not paused.');
  for (const body of [
    { minutes: 0 },
    { minutes: 241 },
    { minutes: 2.5 },
    { minutes: 'five' },
    {},
    { minutes: 5, seconds: 3 },
  ]) {
    const response = await asUser(fixture.app, anna, 'PUT', '/api/pause', body);
    assert.is(response.statusCode, 400, JSON.stringify(body));
  }
  const forged = await fixture.app.inject({
    method: 'PUT',
    url: '/api/pause',
    cookies: { dl_session: anna.cookie },
    payload: { minutes: 5 },
  });
  assert.is(forged.statusCode, 403);
  const anonymous = await fixture.app.inject({ method: 'PUT', url: '/api/pause', payload: { minutes: 5 } });
  assert.is(anonymous.statusCode, 401);
  assert.is(await fixture.db.hget(RedisKeys.agent(annaId), 'state'), 'available');
});

test("I'm back: DELETE /api/pause answers available, puts the agent in agents:idle and wakes the router at once", async () => {
  await pick(desk1);
  await pause(30);
  const wakes = await ChannelRecorder.subscribe<string>(fixture.redisUrl, RedisChannels.routeWake);
  try {
    const before = Date.now();
    const response = await asUser(fixture.app, anna, 'DELETE', '/api/pause');
    assert.is(response.statusCode, 200);
    const status = response.json<AgentStatus>();
    assert.is(status.state, 'available');
    assert.is(status.pausedUntil, undefined);
    await wakes.waitFor((message) => message === annaId, 'route:wake');
    const idleScore = Number(await fixture.db.zscore(RedisKeys.idleAgents, annaId));
    assert.ok(idleScore >= before, 'idle since now: back of the line');
    assert.is(await fixture.db.zscore(RedisKeys.pauseEnds, annaId), null);
    const again = await asUser(fixture.app, anna, 'DELETE', '/api/pause');
    assert.is(again.statusCode, 200, 'ending no pause is no error');
    assert.is(again.json<AgentStatus>().state, 'available');
  } finally {
    wakes.close();
  }
});

test('the server ends a pause by itself on time, with no browser involved', async () => {
  await pick(desk1);
  const wakes = await ChannelRecorder.subscribe<string>(fixture.redisUrl, RedisChannels.routeWake);
  try {
    const { pausedUntil } = await fixture.app.agents.pause(annaId, 1500);
    await wakes.waitFor((message) => message === annaId, 'route:wake when the pause is over', 5000);
    const late = Date.now() - pausedUntil!;
    const agent = await fixture.db.hgetall(RedisKeys.agent(annaId));
    console.log(
      `  pause ended ${Number(agent['lastPauseEndedAt']) - pausedUntil!} ms after pausedUntil (route:wake seen ${late} ms after)`,
    );
    assert.is(agent['state'], 'available');
    assert.ok(Number(agent['lastPauseEndedAt']) - pausedUntil! < 300, 'ended on time');
    assert.ok(late >= 0);
    assert.is(agent['pausedUntil'], undefined);
    assert.ok((await fixture.db.zscore(RedisKeys.idleAgents, annaId)) !== null);
    assert.is((await asUser(fixture.app, anna, 'GET', '/api/pause')).json<AgentStatus>().state, 'available');
  } finally {
    wakes.close();
  }
});

test('a pause survives a restart of signaling and still ends on time', async () => {
  await pick(desk1);
  const { pausedUntil } = await fixture.app.agents.pause(annaId, 2500);
  await fixture.app.close();
  assert.is(
    await fixture.db.hget(RedisKeys.agent(annaId), 'state'),
    'paused',
    'nobody ended it while signaling was down',
  );
  fixture.app = await buildTestApp(fixture.redisUrl);
  await fixture.app.ready();
  const status = (await asUser(fixture.app, anna, 'GET', '/api/pause')).json<AgentStatus>();
  assert.is(status.state, 'paused');
  assert.is(status.pausedUntil, pausedUntil, 'the same pause after the restart');
  await waitFor(
    'the pause to end',
    async () => (await fixture.db.hget(RedisKeys.agent(annaId), 'state')) === 'available',
    6000,
  );
  const endedAt = Number(await fixture.db.hget(RedisKeys.agent(annaId), 'lastPauseEndedAt'));
  console.log(`  after a restart, ended ${endedAt - pausedUntil!} ms after pausedUntil`);
  assert.ok(endedAt >= pausedUntil! && endedAt - pausedUntil! < 300, `${endedAt - pausedUntil!} ms`);
});

test('a pause that came due while signaling was down is ended as soon as it starts', async () => {
  await pick(desk1);
  await fixture.app.close();
  // While no signaling runs, a pause that ended a minute ago is in Redis.
  await new AgentService(fixture.db, new WorkstationStore(fixture.db, { sipDomain: 'deskline.local' })).pause(
    annaId,
    60_000,
    Date.now() - 120_000,
  );
  assert.is(await fixture.db.hget(RedisKeys.agent(annaId), 'state'), 'paused');
  fixture.app = await buildTestApp(fixture.redisUrl);
  await waitFor(
    'the overdue pause to end',
    async () => (await fixture.db.hget(RedisKeys.agent(annaId), 'state')) === 'available',
    3000,
  );
});

test('pausing during a call: the call goes on and the pause ends back on the call, not available', async () => {
  await pick(desk1);
  const calls = new CallStore(fixture.db);
  const now = Date.now();
  await calls.record({
    id: 'c1',
    from: '+4930111',
    line: '100',
    state: 'bridged',
    startedAt: now - 5000,
    queuedAt: now - 4000,
    answeredAt: now - 1000,
    agentUserId: annaId,
    workstationId: desk1.id,
  });
  await fixture.db
    .multi()
    .hset(RedisKeys.agent(annaId), { state: 'on-call', callId: 'c1' })
    .zrem(RedisKeys.idleAgents, annaId)
    .exec();
  const paused = (await pause(5)).json<AgentStatus>();
  assert.is(paused.state, 'paused');
  assert.is(await fixture.db.hget(RedisKeys.agent(annaId), 'callId'), 'c1', 'the call is still hers');
  const changing = await pick(desk2);
  assert.is(changing.statusCode, 409, 'no moving desks during a call, paused or not');
  const back = (await asUser(fixture.app, anna, 'DELETE', '/api/pause')).json<AgentStatus>();
  assert.is(back.state, 'on-call');
  assert.is(await fixture.db.zscore(RedisKeys.idleAgents, annaId), null, 'not offered a call while on one');
});

test('switching workstation while paused keeps the pause; leaving (logout) ends it and unschedules it', async () => {
  await pick(desk1);
  const paused = (await pause(10)).json<AgentStatus>();
  const moved = (await pick(desk2)).json<AgentStatus>();
  assert.is(moved.state, 'paused');
  assert.is(moved.workstation?.name, 'Reception 2');
  assert.is(moved.pausedUntil, paused.pausedUntil);
  assert.is(await fixture.db.zscore(RedisKeys.idleAgents, annaId), null);
  assert.is((await asUser(fixture.app, anna, 'POST', '/api/auth/logout')).statusCode, 204);
  assert.is(await fixture.db.zscore(RedisKeys.pauseEnds, annaId), null);
  assert.is(await fixture.db.exists(RedisKeys.agent(annaId)), 0);
});

test('after the pause, GET /api/pause/missed lists the calls abandoned during it, oldest first, until dismissed', async () => {
  await pick(desk1);
  const calls = new CallStore(fixture.db);
  const record = (id: string, from: string, state: 'abandoned' | 'ended', endedAt: number) =>
    calls.record({
      id,
      from,
      line: '100',
      state,
      startedAt: endedAt - 30_000,
      queuedAt: endedAt - 20_000,
      endedAt,
      ...(state === 'ended' ? { answeredAt: endedAt - 10_000 } : {}),
    });
  await record('before', '+4930000', 'abandoned', Date.now() - 1000);
  const { pausedAt } = (await pause(5)).json<AgentStatus>();
  assert.equal(
    (await asUser(fixture.app, anna, 'GET', '/api/pause/missed')).json<MissedCalls>(),
    { calls: [] },
    'nothing while no pause has ended',
  );
  await record('missed-2', '+4930222', 'abandoned', pausedAt! + 2);
  await record('missed-1', '+4930111', 'abandoned', pausedAt! + 1);
  await record('answered', '+4930333', 'ended', pausedAt! + 3);
  await waitFor('a millisecond to pass', () => Date.now() > pausedAt! + 3);
  const back = (await asUser(fixture.app, anna, 'DELETE', '/api/pause')).json<AgentStatus>();
  assert.is(back.state, 'available');
  await record('after', '+4930444', 'abandoned', Date.now() + 5);

  const missed = (await asUser(fixture.app, anna, 'GET', '/api/pause/missed')).json<MissedCalls>();
  assert.is(missed.from, pausedAt);
  assert.ok(missed.to! > pausedAt!);
  assert.equal(missed.calls, [
    { id: 'missed-1', from: '+4930111', endedAt: pausedAt! + 1 },
    { id: 'missed-2', from: '+4930222', endedAt: pausedAt! + 2 },
  ]);
  assert.is((await asUser(fixture.app, anna, 'DELETE', '/api/pause/missed')).statusCode, 204);
  assert.equal((await asUser(fixture.app, anna, 'GET', '/api/pause/missed')).json<MissedCalls>(), { calls: [] });
});

test.run();
