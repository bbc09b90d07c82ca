import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { migrateCallRecordOutcomes } from '@deskline/store';
import { RetentionSweep } from '../../services/retention.js';
import { TaskProjector } from '../../services/task-projector.js';
import { TaskStore } from '../../services/task-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    tasks: TaskStore;
  }
}

/** How often the retention sweep runs (and once at start). Every instance runs it: it is idempotent. */
const SWEEP_EVERY_MS = 60 * 60_000;

/**
 * The call board's tasks (docs/call-board.md): the store the routes use, and the projector that turns
 * the sip app's call and callback events into tasks, as one consumer of the group `tasks`. And the
 * retention sweep over everything that holds a patient's number (HISTORY_RETENTION_DAYS).
 */
export default fp(
  async (app, opts: { retentionDays: number }) => {
    app.decorate('tasks', new TaskStore(app.redis, { retentionDays: opts.retentionDays }));
    // Records written before issue 16 (Abandoned vs Unanswered, docs/call-board.md "Outcomes") are
    // rewritten before the first event is projected or the first statistics read.
    const migratedTasks = await app.tasks.migrateOutcomes();
    const { rewritten } = await migrateCallRecordOutcomes(app.redis);
    if (migratedTasks > 0 || rewritten > 0)
      app.log.info({ tasks: migratedTasks, callRecords: rewritten }, 'outcomes of before issue 16 migrated');
    const consumer = `signaling-${randomUUID()}`;
    const reader = app.redis.duplicate({ connectionName: 'signaling-tasks' });
    reader.on('error', (err: Error) => app.log.debug({ err: err.message }, 'tasks reader: Redis connection problem'));
    const projector = new TaskProjector(app.redis, reader, app.tasks, consumer, app.log);
    const retention = new RetentionSweep(app.redis, opts.retentionDays, app.voicemail, app.tasks);
    const sweep = (): void => {
      retention.run().then(
        (report) => app.log.info({ ...report }, 'retention sweep done'),
        (err: unknown) => app.log.warn({ err }, 'retention sweep failed; it runs again within the hour'),
      );
    };
    let sweepTimer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      projector.start();
      sweep();
      sweepTimer = setInterval(sweep, SWEEP_EVERY_MS);
      sweepTimer.unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(sweepTimer);
      await projector.stop();
    });
  },
  { name: 'tasks', dependencies: ['redis', 'stores'] },
);
