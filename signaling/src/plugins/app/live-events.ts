import fp from 'fastify-plugin';
import type { CallEvent, PushEvent } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';

declare module 'fastify' {
  interface FastifyInstance {
    liveEvents: LiveEvents;
  }
}

/** What changed, as the panels are told it: a call, a team member, a task or a subject. */
export type LiveEvent = Extract<PushEvent, { type: 'call' | 'member' | 'member-gone' | 'task' | 'subject' }>;

export interface LiveEvents {
  /** Every change from now on, in the order of the streams, to `listener` (called synchronously). */
  subscribe(listener: (event: LiveEvent) => void): void;
}

const BLOCK_MS = 5_000;

function field(fields: string[], name: string): string | undefined {
  const index = fields.indexOf(name);
  return index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
}

/**
 * The changes behind the push sockets: one blocking reader per signaling instance tails the sip app's
 * call events, the team events (docs/presence-and-pause.md) and the board events (docs/call-board.md).
 * A call event carries the call; a team or board event only names what changed, so each batch reads
 * the current state of each member, task and subject it names, once each.
 */
export default fp(
  async (app) => {
    const listeners: Array<(event: LiveEvent) => void> = [];
    const emit = (event: LiveEvent): void => {
      for (const listener of listeners) listener(event);
    };
    const reader = app.redis.duplicate({ connectionName: 'signaling-push' });
    // The tail loop reports failed reads; the connection's own errors need a listener of their own.
    reader.on('error', (err: Error) => app.log.debug({ err: err.message }, 'push reader: Redis connection problem'));
    let running = true;

    const emitMembers = async (userIds: Set<string>): Promise<void> => {
      const members = await app.team.read([...userIds]);
      for (const userId of userIds) {
        const member = members.get(userId);
        emit(member ? { type: 'member', member } : { type: 'member-gone', userId });
      }
    };

    const emitBoard = async (taskIds: Set<string>, subjectIds: Set<string>): Promise<void> => {
      const [tasks, subjects] = await Promise.all([
        app.tasks.many([...taskIds]),
        Promise.all([...subjectIds].map((id) => app.subjects.get(id))),
      ]);
      for (const task of tasks) emit({ type: 'task', task });
      for (const subject of subjects) if (subject) emit({ type: 'subject', subject });
    };

    /**
     * Where each stream ends now. Not `$` in every read: a read that returns entries of one stream
     * leaves the others at `$`, and the next read would skip what they got in between.
     */
    const streamEnds = async (): Promise<[string, string, string]> => {
      const streams = [RedisStreams.callEvents, RedisStreams.teamEvents, RedisStreams.boardEvents];
      const ends = await Promise.all(streams.map((stream) => reader.xrevrange(stream, '+', '-', 'COUNT', 1)));
      const [call = '0-0', team = '0-0', board = '0-0'] = ends.map((entries) => entries[0]?.[0] ?? '0-0');
      return [call, team, board];
    };

    const tail = async (): Promise<void> => {
      let lastCall = '';
      let lastTeam = '';
      let lastBoard = '';
      while (running) {
        try {
          if (lastCall === '') [lastCall, lastTeam, lastBoard] = await streamEnds();
          const result = await reader.xread(
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            RedisStreams.callEvents,
            RedisStreams.teamEvents,
            RedisStreams.boardEvents,
            lastCall,
            lastTeam,
            lastBoard,
          );
          const changed = new Set<string>();
          const changedTasks = new Set<string>();
          const changedSubjects = new Set<string>();
          for (const [stream, entries] of result ?? []) {
            for (const [id, fields] of entries) {
              if (stream === RedisStreams.teamEvents) {
                lastTeam = id;
                const userId = field(fields, 'userId');
                if (userId) changed.add(userId);
                continue;
              }
              if (stream === RedisStreams.boardEvents) {
                lastBoard = id;
                const taskId = field(fields, 'taskId');
                const subjectId = field(fields, 'subjectId');
                if (taskId) changedTasks.add(taskId);
                if (subjectId) changedSubjects.add(subjectId);
                continue;
              }
              lastCall = id;
              try {
                const { call } = JSON.parse(field(fields, 'event') ?? '') as CallEvent;
                if (call?.id) emit({ type: 'call', call });
              } catch {
                app.log.warn({ id }, 'push: unreadable call event skipped');
              }
            }
          }
          if (changed.size > 0) await emitMembers(changed);
          if (changedTasks.size > 0 || changedSubjects.size > 0) await emitBoard(changedTasks, changedSubjects);
        } catch (err) {
          if (!running) return;
          app.log.warn({ err: (err as Error).message }, 'push: reading events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    };

    app.decorate('liveEvents', {
      subscribe(listener: (event: LiveEvent) => void) {
        listeners.push(listener);
      },
    });
    app.addHook('onReady', async () => {
      void tail();
    });
    app.addHook('onClose', async () => {
      running = false;
      reader.disconnect();
    });
  },
  { name: 'live-events', dependencies: ['redis', 'stores', 'tasks'] },
);
