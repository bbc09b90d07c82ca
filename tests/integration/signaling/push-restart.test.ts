/**
 * A signaling instance that stops while panels are open (a restart, an upgrade), against a real
 * redis-server with two instances on it (docs/scaling.md, "Two signaling instances"): its sockets
 * close with the restart code, its users stay online while their panels reconnect to the other
 * instance and go offline only when they do not come back; and an event that comes while a panel's
 * hello is read reaches it after the hello. What an attacker could try on a reconnect is in
 * tests/security/push-reconnect.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PUSH_SERVER_RESTARTING_CLOSE_CODE, type CallView, type PushEvent } from '@deskline/protocol';
import { CallStore } from '@deskline/sip/calls/call-store';
import { hello, useColleagues } from '../../helpers/instances.js';
import { memberEvent } from '../../helpers/push-events.js';
import { useFreshApp } from '../../helpers/signaling.js';

const HEARTBEAT_SECONDS = 1;
/** Three heartbeats: the presence timeout, and here also the restart grace (which is at most that). */
const TIMEOUT_MS = HEARTBEAT_SECONDS * 3000;
const ENV = { PRESENCE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) };
const fixture = useFreshApp(test, ENV);
const team = useColleagues(test, fixture, ENV);

test('an instance that stops closes its sockets with the restart code; users who reconnect elsewhere never show offline, one who does not goes offline after the grace', async () => {
  const stopping = await team.instance();
  const staying = fixture.app;
  const annaHere = await team.panel(team.anna, stopping);
  const benHere = await team.panel(team.ben, stopping);
  const mariaThere = await team.panel(team.maria, staying);
  await Promise.all([hello(annaHere), hello(benHere), hello(mariaThere)]);
  const mark = mariaThere.mark();

  const stoppedAt = Date.now();
  await stopping.close();
  assert.is(
    await annaHere.closed,
    PUSH_SERVER_RESTARTING_CLOSE_CODE,
    'the restart code, not session ended (4001) or going away (1001)',
  );
  assert.is(await benHere.closed, PUSH_SERVER_RESTARTING_CLOSE_CODE);

  // Anna's panel reconnects to the other instance: online in her hello, and never offline on Maria's.
  const annaThere = await team.panel(team.anna, staying);
  const again = await hello(annaThere);
  assert.is(again.event.team.find((member) => member.userId === team.anna.info.user.id)?.online, true);
  // Ben's panel never comes back: offline once the grace has passed, and not before.
  const offline = await mariaThere.waitFor(
    'Ben offline',
    memberEvent(team.ben.info.user.id, (member) => !member.online),
    mark,
    TIMEOUT_MS + 5000,
  );
  const after = offline.at - stoppedAt;
  console.log(
    `  a user whose panel did not come back went offline ${after} ms after the stop (grace ${TIMEOUT_MS} ms)`,
  );
  assert.ok(after >= TIMEOUT_MS - 100 && after < TIMEOUT_MS + 2500, `${after} ms`);
  assert.not.ok(
    mariaThere.seen
      .slice(mark)
      .some((seen) => memberEvent(team.anna.info.user.id, (member) => !member.online)(seen.event)),
    'Anna never showed offline',
  );
});

test('an event that comes while a hello is being read reaches the panel after the hello, so the older hello cannot hide it', async () => {
  const { app, db } = fixture;
  const watcher = await team.panel(team.maria, app);
  await hello(watcher);
  // Anna's hello is read slowly: the team list waits until the call below has been pushed.
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reading = (): void => undefined;
  const readingHello = new Promise<void>((resolve) => (reading = resolve));
  const list = app.team.list.bind(app.team);
  app.team.list = async () => {
    reading();
    await gate;
    return list();
  };
  try {
    const annaPanel = await team.panel(team.anna, app);
    await readingHello;
    const from = watcher.mark();
    const call: CallView = {
      id: 'while-hello',
      from: '+48601000003',
      line: '100',
      state: 'waiting',
      startedAt: Date.now(),
      queuedAt: Date.now(),
    };
    await new CallStore(db).record(call);
    await watcher.waitFor(
      'the call on the other panel',
      (event): event is Extract<PushEvent, { type: 'call' }> => event.type === 'call' && event.call.id === call.id,
      from,
    );
    release();
    const pushed = await annaPanel.waitFor(
      'the call',
      (event): event is Extract<PushEvent, { type: 'call' }> => event.type === 'call' && event.call.id === call.id,
    );
    const first = await hello(annaPanel);
    assert.is(annaPanel.seen[0]?.event.type, 'hello', 'the hello comes first');
    assert.ok(
      annaPanel.seen.indexOf(first) < annaPanel.seen.indexOf(pushed),
      'then the call that came while it was read',
    );
  } finally {
    app.team.list = list;
  }
});

test.run();
