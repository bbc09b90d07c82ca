import fp from 'fastify-plugin';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { PUSH_SERVER_RESTARTING_CLOSE_CODE, PUSH_SESSION_ENDED_CLOSE_CODE, taskVisibleTo, type CallEvent, type CallView, type PushEvent, type TaskView } from '@deskline/protocol';
import { RedisKeys, RedisStreams, callFromHash } from '@deskline/store';
import type { Config } from '../../config.js';
import { ClientError } from '../../errors.js';
import { SESSIONS_ENDED_CHANNEL, parseSessionsEnded, sessionDigest } from '../../services/session-store.js';
import { authenticated } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    push: PushHub;
  }
}

export interface PushHub {
  /** How many panels are connected. */
  readonly size: number;
}

const BLOCK_MS = 5_000;
/**
 * How often the sessions behind open sockets are checked for expiry, which Redis does silently. With
 * the ended channel for everything else, a socket outlives its session by at most this long.
 */
const SESSION_SWEEP_MS = 250;
/**
 * How long the users of a stopping instance stay online without a socket (Presence.handOver): ample
 * for a panel to reconnect to another instance, or to this one restarted; short enough that a panel
 * that never comes back does not look open for long.
 */
const RESTART_GRACE_MS = 10_000;

/** One open push socket: whose it is, and the tasks it has been sent that its user may see. */
interface Panel {
  /** The digest of the session it was opened in (sessionDigest), followed through renewals. */
  session: string;
  userId: string;
  role: string;
  /** Tasks not closed that this panel was sent, so it can be told when one is no longer its to see. */
  tasks: Set<string>;
  /**
   * Events for this panel that came while its `hello` was being read, sent right after it. The hello
   * is read from Redis over several round trips; an event pushed meanwhile and sent before it would be
   * overwritten by an older state. Sent after it, every entity ends at its newest state.
   */
  pending: string[] | undefined;
}
const PUSH_PATH = '/api/push';

/** Every call that has not ended, oldest first. */
async function activeCalls(app: { redis: import('ioredis').Redis }): Promise<CallView[]> {
  const ids = await app.redis.smembers(RedisKeys.activeCalls);
  const pipeline = app.redis.pipeline();
  for (const id of ids) pipeline.hgetall(RedisKeys.call(id));
  const results = (await pipeline.exec()) ?? [];
  return results
    .map(([, hash]) => callFromHash(hash as Record<string, string>))
    .filter((call): call is CallView => call !== undefined)
    .sort((a, b) => a.startedAt - b.startedAt);
}

function field(fields: string[], name: string): string | undefined {
  const index = fields.indexOf(name);
  return index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
}

/**
 * Live state for every logged-in panel: a WebSocket at /api/push (session cookie required) that first
 * sends the calls in progress, the team and the open tasks the user may see (every socket starts with
 * the whole state, so a reconnect resyncs: docs/scaling.md), then every call event the sip app
 * appends, every team member that changed (docs/presence-and-pause.md), and every task and subject
 * that changed (docs/call-board.md). One blocking reader per signaling instance tails the three
 * streams; each instance fans out to its own sockets. An open socket makes its user `online`: the
 * instance tells Redis on the first and the last socket of a user and refreshes the users it holds
 * every heartbeat, and every instance sweeps out the users of an instance that died. A stopping
 * instance closes its sockets with the restart code and hands its users over.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const sockets = new Map<WebSocket, Panel>();
    /** userId -> how many of its sockets this instance holds. */
    const perUser = new Map<string, number>();
    /** Presence changes of one user reach Redis in the order they happened. */
    const presenceChain = new Map<string, Promise<void>>();
    const reader = app.redis.duplicate({ connectionName: 'signaling-push' });
    // The tail loop reports failed reads; the connection's own errors need a listener of their own.
    reader.on('error', (err: Error) => app.log.debug({ err: err.message }, 'push reader: Redis connection problem'));
    const sessionEvents = app.redis.duplicate({ connectionName: 'signaling-sessions' });
    sessionEvents.on('error', (err: Error) => app.log.debug({ err: err.message }, 'push: sessions channel connection problem'));
    let running = true;
    /** Set when this instance starts to stop: its sockets close with the restart code, no new one opens. */
    let stopping = false;
    /** The users this instance held sockets for when it started to stop: handed over, not taken offline. */
    let heldAtStop: string[] = [];

    const endSessions = (digests: Iterable<string>): void => {
      const ended = new Set(digests);
      for (const [socket, panel] of sockets) {
        if (ended.has(panel.session)) socket.close(PUSH_SESSION_ENDED_CLOSE_CODE, 'session ended');
      }
    };
    const followRenewal = (from: string, to: string): void => {
      for (const panel of sockets.values()) if (panel.session === from) panel.session = to;
    };
    sessionEvents.on('message', (_channel: string, message: string) => {
      const event = parseSessionsEnded(message);
      if (!event) return;
      if ('ended' in event) endSessions(event.ended);
      else followRenewal(event.renamed.from, event.renamed.to);
    });
    await sessionEvents.subscribe(SESSIONS_ENDED_CHANNEL);

    /** Expired sessions (idle or at their maximum age) are not announced: look for them. */
    let sweeping = false;
    /** While Redis is away the check fails four times a second: say so once, and when it is back. */
    let sweepFailing = false;
    const sweepSessions = async (): Promise<void> => {
      if (sweeping || sockets.size === 0) return;
      sweeping = true;
      try {
        const live = await app.sessions.liveDigests([...new Set([...sockets.values()].map((panel) => panel.session))]);
        const ended: string[] = [];
        for (const [digest, now] of live) {
          if (now === undefined) ended.push(digest);
          else if (now !== digest) followRenewal(digest, now);
        }
        endSessions(ended);
        if (sweepFailing) app.log.info('push: checking sessions works again');
        sweepFailing = false;
      } catch (err) {
        if (!sweepFailing) app.log.warn({ err: (err as Error).message }, 'push: checking sessions failed; retrying');
        sweepFailing = true;
      } finally {
        sweeping = false;
      }
    };
    const sessionSweep = setInterval(() => void sweepSessions(), SESSION_SWEEP_MS);
    sessionSweep.unref();

    /** Sends to one panel, or holds it until that panel's hello is sent (Panel.pending). */
    const send = (socket: WebSocket, panel: Panel, text: string): void => {
      if (panel.pending) panel.pending.push(text);
      else socket.send(text);
    };

    /**
     * A task goes to the panels whose user may see it (taskVisibleTo, the rule REST applies); a panel
     * that was sent it and may no longer see it (another employee took it) is told to drop it.
     */
    const sendTask = (task: TaskView): void => {
      const text = JSON.stringify({ type: 'task', task } satisfies PushEvent);
      const gone = JSON.stringify({ type: 'task-gone', taskId: task.id } satisfies PushEvent);
      for (const [socket, panel] of sockets) {
        if (socket.readyState !== socket.OPEN) continue;
        if (taskVisibleTo(task, panel)) {
          send(socket, panel, text);
          // A closed task stays visible to everyone: nothing more to track.
          if (task.status === 'closed') panel.tasks.delete(task.id);
          else panel.tasks.add(task.id);
        } else if (panel.tasks.delete(task.id)) {
          send(socket, panel, gone);
        }
      }
    };

    const broadcast = (event: PushEvent): void => {
      const text = JSON.stringify(event);
      for (const [socket, panel] of sockets) if (socket.readyState === socket.OPEN) send(socket, panel, text);
    };

    const presenceStep = (userId: string, step: () => Promise<void>): Promise<void> => {
      const next = (presenceChain.get(userId) ?? Promise.resolve())
        .then(step)
        .catch((err: unknown) => app.log.warn({ err: (err as Error).message, userId }, 'push: could not record presence'));
      presenceChain.set(userId, next);
      void next.then(() => {
        if (presenceChain.get(userId) === next) presenceChain.delete(userId);
      });
      return next;
    };

    /** Pushes the current state of each member named by a batch of team events, once per member. */
    const pushMembers = async (userIds: Set<string>): Promise<void> => {
      const members = await app.team.read([...userIds]);
      for (const userId of userIds) {
        const member = members.get(userId);
        broadcast(member ? { type: 'member', member } : { type: 'member-gone', userId });
      }
    };

    /** Pushes the current state of each task and subject named by a batch of board events, once each. */
    const pushBoard = async (taskIds: Set<string>, subjectIds: Set<string>): Promise<void> => {
      const [tasks, subjects] = await Promise.all([app.tasks.many([...taskIds]), Promise.all([...subjectIds].map((id) => app.subjects.get(id)))]);
      for (const task of tasks) sendTask(task);
      for (const subject of subjects) if (subject) broadcast({ type: 'subject', subject });
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
                if (call?.id) broadcast({ type: 'call', call });
              } catch {
                app.log.warn({ id }, 'push: unreadable call event skipped');
              }
            }
          }
          if (changed.size > 0) await pushMembers(changed);
          if (changedTasks.size > 0 || changedSubjects.size > 0) await pushBoard(changedTasks, changedSubjects);
        } catch (err) {
          if (!running) return;
          app.log.warn({ err: (err as Error).message }, 'push: reading events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    };

    const heartbeatMs = opts.config.PRESENCE_HEARTBEAT_SECONDS * 1000;
    const heartbeat = setInterval(() => {
      if (perUser.size > 0) {
        app.presence.touchAll(perUser.keys()).catch((err: Error) => app.log.warn({ err: err.message }, 'push: presence heartbeat failed'));
      }
      app.presence.sweep().catch((err: Error) => app.log.warn({ err: err.message }, 'push: presence sweep failed'));
    }, heartbeatMs);
    heartbeat.unref();

    app.decorate('push', {
      get size() {
        return sockets.size;
      },
    });

    // @fastify/websocket would accept an upgrade to any other route (the web app's wildcard, say) and
    // close it at once; a plain 404 says there is no socket there.
    app.addHook('onRequest', async (request, reply) => {
      const push = request.routeOptions.url === PUSH_PATH;
      // Every socket starts with the whole state: there is nothing to resume from (no last event
      // id), and no parameter that could widen what it is sent (docs/scaling.md).
      if (push && Object.keys(request.query as object).length > 0) {
        throw new ClientError(400, 'The push socket takes no parameters: every connection starts with the whole state.');
      }
      if (!request.ws) return;
      if (!push) throw new ClientError(404, 'There is no WebSocket here.');
      if (stopping) {
        // No answer at all: the proxy retries the upgrade (a GET) on another instance, where an
        // answer (a 503) would go back to the panel as a failed socket and a backoff.
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
    });

    app.get(PUSH_PATH, { websocket: true, config: { access: 'session' } }, async (socket, request) => {
      const origin = request.headers.origin;
      const allowed = opts.config.PUBLIC_ORIGIN ?? `${request.protocol}://${request.host}`;
      if (origin !== undefined && origin !== allowed) {
        socket.close(1008, 'cross-site');
        return;
      }
      const { session, user } = authenticated(request);
      const panel: Panel = { session: sessionDigest(session.id), userId: user.id, role: user.role, tasks: new Set(), pending: [] };
      sockets.set(socket, panel);
      const count = (perUser.get(user.id) ?? 0) + 1;
      perUser.set(user.id, count);
      const online = count === 1 ? presenceStep(user.id, () => app.presence.touch(user.id)) : presenceChain.get(user.id);
      socket.on('close', () => {
        sockets.delete(socket);
        const left = (perUser.get(user.id) ?? 1) - 1;
        if (left > 0) {
          perUser.set(user.id, left);
          return;
        }
        perUser.delete(user.id);
        if (!stopping) void presenceStep(user.id, () => app.presence.leave(user.id));
      });
      // Panels only listen; anything they send is ignored.
      socket.on('message', () => undefined);
      // The hello shows this user online already.
      await online;
      const [calls, team, open] = await Promise.all([activeCalls(app), app.team.list(), app.tasks.open()]);
      const tasks = open.filter((task) => taskVisibleTo(task, panel));
      const hello: PushEvent = { type: 'hello', calls, team, tasks };
      if (socket.readyState !== socket.OPEN) return;
      for (const task of tasks) panel.tasks.add(task.id);
      socket.send(JSON.stringify(hello));
      const pending = panel.pending ?? [];
      panel.pending = undefined;
      for (const text of pending) socket.send(text);
    });

    app.addHook('onReady', async () => {
      void tail();
    });
    // Before the listener closes (Fastify runs preClose first): panels reconnect at once, and the
    // proxy, finding this instance gone or dropping the upgrade, takes them to another one.
    app.addHook('preClose', async () => {
      stopping = true;
      heldAtStop = [...perUser.keys()];
      for (const socket of sockets.keys()) socket.close(PUSH_SERVER_RESTARTING_CLOSE_CODE, 'server restarting');
    });
    app.addHook('onClose', async () => {
      stopping = true;
      running = false;
      clearInterval(heartbeat);
      clearInterval(sessionSweep);
      sessionEvents.disconnect();
      for (const socket of sockets.keys()) socket.close(PUSH_SERVER_RESTARTING_CLOSE_CODE, 'server restarting');
      // A stop is mostly a restart: the users stay online while their panels reconnect, and go
      // offline RESTART_GRACE_MS later if they do not (docs/presence-and-pause.md).
      const held = new Set([...heldAtStop, ...perUser.keys()]);
      await Promise.all([...held].map((userId) => presenceStep(userId, () => app.presence.handOver(userId, RESTART_GRACE_MS))));
      perUser.clear();
      reader.disconnect();
    });
  },
  { name: 'push', dependencies: ['redis', 'websocket', 'auth', 'stores', 'tasks'] },
);
