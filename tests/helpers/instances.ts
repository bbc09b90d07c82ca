/**
 * Several signaling instances on one test Redis, with a clinic's three users logged in on the first:
 * Anna and Ben (employees) and Maria (manager). Push sockets and extra instances a test opens are
 * closed after it.
 */
import type { FastifyInstance } from 'fastify';
import type { Test } from 'uvu';
import type { PushEvent } from '@deskline/protocol';
import { PushEvents } from './push-events.js';
import { buildTestApp, createUser, loginOk, type AppFixture, type LoggedIn } from './signaling.js';

export interface Colleagues {
  anna: LoggedIn;
  ben: LoggedIn;
  maria: LoggedIn;
  /** Another signaling instance on the fixture's Redis, with `env`. */
  instance(): Promise<FastifyInstance>;
  /** A push socket of `who` on `app`. */
  panel(who: LoggedIn, app: FastifyInstance): Promise<PushEvents>;
}

export function useColleagues(suite: Test, fixture: AppFixture, env: Record<string, string> = {}): Colleagues {
  const open: PushEvents[] = [];
  const others: FastifyInstance[] = [];
  const colleagues = {
    async instance() {
      const app = await buildTestApp(fixture.redisUrl, env);
      others.push(app);
      return app;
    },
    async panel(who: LoggedIn, app: FastifyInstance) {
      const events = await PushEvents.open(app, who);
      open.push(events);
      return events;
    },
  } as Colleagues;
  suite.before.each(async () => {
    const { app } = fixture;
    colleagues.anna = await loginOk(
      app,
      'anna@clinic.example',
      await createUser(app, 'anna@clinic.example', 'employee'),
    );
    colleagues.ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
    colleagues.maria = await loginOk(
      app,
      'maria@clinic.example',
      await createUser(app, 'maria@clinic.example', 'manager'),
    );
  });
  suite.after.each(async () => {
    for (const panel of open.splice(0)) panel.socket.terminate();
    for (const other of others.splice(0)) await other.close();
  });
  return colleagues;
}

/** The hello of a push socket (from event index `from` on). */
export function hello(events: PushEvents, from = 0) {
  return events.waitFor(
    'the hello',
    (event): event is Extract<PushEvent, { type: 'hello' }> => event.type === 'hello',
    from,
  );
}
