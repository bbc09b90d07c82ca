import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_COOKIE, type CallView, type PushEvent } from '@deskline/protocol';
import { RedisKeys, RedisStreams, callToHash } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);

/** Collects the push events a socket receives, and waits for one that matches. */
function recorder(socket: { on(event: 'message', listener: (data: Buffer) => void): unknown }) {
  const events: PushEvent[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    events.push(JSON.parse(data.toString()) as PushEvent);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    events,
    async next(match: (e: PushEvent) => boolean, timeoutMs = 3000): Promise<PushEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching push event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left);
        });
      }
    },
  };
}

const waitingCall: CallView = {
  id: 'c1',
  from: '+48123456789',
  line: '100',
  state: 'waiting',
  startedAt: Date.now() - 5000,
  queuedAt: Date.now() - 2000,
};

test('a panel gets the calls in progress on connect, then every call event live', async () => {
  const { app, db } = fixture;
  await db.multi().hset(RedisKeys.call('c1'), callToHash(waitingCall)).sadd(RedisKeys.activeCalls, 'c1').exec();
  const anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  await app.ready();
  const socket = await app.injectWS('/api/push', { headers: { cookie: `${SESSION_COOKIE}=${anna.cookie}` } });
  const push = recorder(socket);
  const hello = await push.next((e) => e.type === 'hello');
  assert.equal(hello.type === 'hello' && hello.calls, [waitingCall]);

  const ringing: CallView = { ...waitingCall, state: 'ringing', agentUserId: 'u1', workstationId: 'w1' };
  await db.xadd(RedisStreams.callEvents, '*', 'event', JSON.stringify({ call: ringing }));
  const live = await push.next((e) => e.type === 'call');
  assert.equal(live, { type: 'call', call: ringing });
  socket.terminate();
});

test('logging out closes that session’s push socket', async () => {
  const { app } = fixture;
  const anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  await app.ready();
  const socket = await app.injectWS('/api/push', { headers: { cookie: `${SESSION_COOKIE}=${anna.cookie}` } });
  const closed = new Promise<number>((resolve) => socket.on('close', (code: number) => resolve(code)));
  await asUser(app, anna, 'POST', '/api/auth/logout');
  assert.is(await closed, 4001);
});

test('without a session the push socket is refused', async () => {
  const { app } = fixture;
  await app.ready();
  try {
    const socket = await app.injectWS('/api/push');
    socket.terminate();
    assert.unreachable('the upgrade should have been refused');
  } catch (err) {
    assert.match(String(err), /401|Unexpected server response/);
  }
});

test.run();
