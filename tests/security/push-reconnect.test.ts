/**
 * The push socket after a signaling restart, as an attacker tries it (docs/scaling.md, "Two signaling
 * instances"; docs/security.md, "Reconnecting after a restart"): a panel reconnects with nothing to
 * resume from, since every socket starts with the whole state its user may see. So a "last event id"
 * or any other parameter, which could be tried to replay another user's events, is refused with 400
 * and a clear message; a reconnect on another instance gets only what the user may see; and the
 * cookie of a session that ended opens no socket on any instance. Real redis-server, two signaling
 * instances on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE } from '@deskline/protocol';
import { wrapUpTask } from '../helpers/board-tasks.js';
import { hello, useColleagues } from '../helpers/instances.js';
import { asUser, useFreshApp } from '../helpers/signaling.js';

const fixture = useFreshApp(test);
const team = useColleagues(test, fixture);

/** What an upgrade of `path` answers (injectWS only says the status). */
async function refusedUpgrade(app: FastifyInstance, path: string, cookie: string): Promise<string> {
  try {
    const socket = await app.injectWS(path, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    socket.terminate();
    return 'accepted';
  } catch (err) {
    return String(err);
  }
}

test('the push socket takes no resume parameter: a last event id or any other is refused with 400 and says why', async () => {
  const { app } = fixture;
  await app.ready();
  for (const path of ['/api/push?lastEventId=0-0', '/api/push?since=0', '/api/push?userId=' + team.ben.info.user.id]) {
    const answer = await app.inject({ method: 'GET', url: path, cookies: { [SESSION_COOKIE]: team.anna.cookie } });
    assert.is(answer.statusCode, 400, path);
    assert.match(answer.json<{ message: string }>().message, /takes no parameters/, path);
    assert.match(await refusedUpgrade(app, path, team.anna.cookie), /400/, `${path}: the upgrade is refused`);
  }
  // Anonymous callers learn nothing about it: the session check comes first.
  const anonymous = await app.inject({ method: 'GET', url: '/api/push?lastEventId=0-0' });
  assert.is(anonymous.statusCode, 401);
  // The plain path still opens.
  const plain = await team.panel(team.anna, app);
  await hello(plain);
});

test('a reconnect on another instance gets only what the user may see, and an ended session cannot reconnect anywhere', async () => {
  const { app, db } = fixture;
  const other = await team.instance();
  // A wrap-up of Ben's: pending, his own and the manager's to see, not Anna's.
  const bens = await wrapUpTask(app, db, team.ben.info.user.id, '+48601000002');
  const annaThere = await hello(await team.panel(team.anna, other));
  assert.not.ok(
    annaThere.event.tasks.some((task) => task.id === bens.id),
    "Anna's hello holds no task of Ben's",
  );
  const mariaThere = await hello(await team.panel(team.maria, other));
  assert.ok(
    mariaThere.event.tasks.some((task) => task.id === bens.id),
    "the manager's does",
  );

  // Anna logs out on one instance; her old cookie opens no socket on the other.
  const loggedOut = await asUser(app, team.anna, 'POST', '/api/auth/logout');
  assert.is(loggedOut.statusCode, 204);
  assert.match(await refusedUpgrade(other, '/api/push', team.anna.cookie), /401/);
  const answer = await other.inject({
    method: 'GET',
    url: '/api/push',
    cookies: { [SESSION_COOKIE]: team.anna.cookie },
  });
  assert.is(answer.statusCode, 401);
});

test.run();
