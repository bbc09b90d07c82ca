import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { DEFAULT_HISTORY_RETENTION_DAYS } from '@deskline/protocol';
import { TaskProjector } from '../../services/task-projector.js';
import { TaskStore } from '../../services/task-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    tasks: TaskStore;
  }
}

/**
 * The call board's tasks (docs/call-board.md): the store the routes use, and the projector that turns
 * the sip app's call and callback events into tasks, as one consumer of the group `tasks`.
 */
export default fp(
  async (app, opts: { retentionDays?: number }) => {
    app.decorate('tasks', new TaskStore(app.redis, { retentionDays: opts.retentionDays ?? DEFAULT_HISTORY_RETENTION_DAYS }));
    const consumer = `signaling-${randomUUID()}`;
    const reader = app.redis.duplicate({ connectionName: 'signaling-tasks' });
    reader.on('error', (err: Error) => app.log.debug({ err: err.message }, 'tasks reader: Redis connection problem'));
    const projector = new TaskProjector(app.redis, reader, app.tasks, consumer, app.log);
    app.addHook('onReady', async () => {
      projector.start();
    });
    app.addHook('onClose', async () => {
      await projector.stop();
    });
  },
  { name: 'tasks', dependencies: ['redis', 'stores'] },
);
