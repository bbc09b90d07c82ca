import fp from 'fastify-plugin';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import {
  PUSH_SERVER_RESTARTING_CLOSE_CODE,
  PUSH_SESSION_ENDED_CLOSE_CODE,
  taskVisibleTo,
  type CallView,
  type PushEvent,
  type TaskView,
} from '@deskline/protocol';
import { RedisKeys, callFromHash } from '@deskline/store';
import type { Config } from '../../config.js';
import { ClientError } from '../../errors.js';
import { SESSIONS_ENDED_CHANNEL, parseSessionsEnded, sessionDigest } from '../../services/session-store.js';
import type { LiveEvent } from './live-events.js';

declare module 'fastify' {
  interface FastifyInstance {
    push: PushHub;
  }
}

/** Where the push socket is (routes/api/push/). */
export const PUSH_PATH = '/api/push';

/** Who opened a push socket: the session it was opened in, and its user. */
export interface PanelOwner {
  sessionId: string;
  userId: string;
  role: string;
}

export interface PushHub {
  /** How many panels are connected. */
  readonly size: number;
  /** This instance has started to stop: it opens no new socket. */
  readonly stopping: boolean;
  /**
   * Takes a panel's socket: its user is online while it is open; it is sent the hello (the whole
   * state) and then every change its user may see, and closed when its session ends.
   */
  open(socket: WebSocket, owner: PanelOwner): Promise<void>;
}

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
  pending: Buffer[] | undefined;
}

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

/**
 * The open push sockets of this instance (routes/api/push/). Each first gets the calls in progress,
 * the team and the open tasks its user may see (every socket starts with the whole state, so a
 * reconnect resyncs: docs/scaling.md), then every change from live-events: calls, team members
 * (docs/presence-and-pause.md), tasks and subjects (docs/call-board.md); a task only to the panels
 * whose user may see it. An open socket makes its user `online`: the instance tells Redis on the first
 * and the last socket of a user and refreshes the users it holds every heartbeat, and every instance
 * sweeps out the users of an instance that died. A stopping instance closes its sockets with the
 * restart code and hands its users over.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const sockets = new Map<WebSocket, Panel>();
    /** userId -> how many of its sockets this instance holds. */
    const perUser = new Map<string, number>();
    /** Presence changes of one user reach Redis in the order they happened. */
    const presenceChain = new Map<string, Promise<void>>();
    const sessionEvents = app.redis.duplicate({ connectionName: 'signaling-sessions' });
    sessionEvents.on('error', (err: Error) =>
      app.log.debug({ err: err.message }, 'push: sessions channel connection problem'),
    );
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

    /**
     * An event as UTF-8, made once for every panel it goes to: given a string, ws would encode it again
     * for each socket (bench/README.md, "push-fanout.ts").
     */
    const encode = (event: PushEvent): Buffer => Buffer.from(JSON.stringify(event));
    /** Sends a text frame to one panel, or holds it until that panel's hello is sent (Panel.pending). */
    const send = (socket: WebSocket, panel: Panel, text: Buffer): void => {
      if (panel.pending) panel.pending.push(text);
      else socket.send(text, { binary: false });
    };

    /**
     * A task goes to the panels whose user may see it (taskVisibleTo, the rule REST applies); a panel
     * that was sent it and may no longer see it (another employee took it) is told to drop it.
     */
    const sendTask = (task: TaskView): void => {
      const text = encode({ type: 'task', task });
      const gone = encode({ type: 'task-gone', taskId: task.id });
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
      const text = encode(event);
      for (const [socket, panel] of sockets) if (socket.readyState === socket.OPEN) send(socket, panel, text);
    };

    const presenceStep = (userId: string, step: () => Promise<void>): Promise<void> => {
      const next = (presenceChain.get(userId) ?? Promise.resolve())
        .then(step)
        .catch((err: unknown) =>
          app.log.warn({ err: (err as Error).message, userId }, 'push: could not record presence'),
        );
      presenceChain.set(userId, next);
      void next.then(() => {
        if (presenceChain.get(userId) === next) presenceChain.delete(userId);
      });
      return next;
    };

    const heartbeatMs = opts.config.PRESENCE_HEARTBEAT_SECONDS * 1000;
    const heartbeat = setInterval(() => {
      if (perUser.size > 0) {
        app.presence
          .touchAll(perUser.keys())
          .catch((err: Error) => app.log.warn({ err: err.message }, 'push: presence heartbeat failed'));
      }
      app.presence.sweep().catch((err: Error) => app.log.warn({ err: err.message }, 'push: presence sweep failed'));
    }, heartbeatMs);
    heartbeat.unref();

    app.liveEvents.subscribe((event: LiveEvent) => {
      if (event.type === 'task') sendTask(event.task);
      else broadcast(event);
    });

    const open = async (socket: WebSocket, owner: PanelOwner): Promise<void> => {
      const { userId } = owner;
      const panel: Panel = {
        session: sessionDigest(owner.sessionId),
        userId,
        role: owner.role,
        tasks: new Set(),
        pending: [],
      };
      sockets.set(socket, panel);
      const count = (perUser.get(userId) ?? 0) + 1;
      perUser.set(userId, count);
      const online = count === 1 ? presenceStep(userId, () => app.presence.touch(userId)) : presenceChain.get(userId);
      socket.on('close', () => {
        sockets.delete(socket);
        const left = (perUser.get(userId) ?? 1) - 1;
        if (left > 0) {
          perUser.set(userId, left);
          return;
        }
        perUser.delete(userId);
        if (!stopping) void presenceStep(userId, () => app.presence.leave(userId));
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
      for (const text of pending) socket.send(text, { binary: false });
    };

    app.decorate('push', {
      get size() {
        return sockets.size;
      },
      get stopping() {
        return stopping;
      },
      open,
    });

    // @fastify/websocket would accept an upgrade to any other route (the web app's wildcard, say) and
    // close it at once; a plain 404 says there is no socket there.
    app.addHook('onRequest', async (request) => {
      if (request.ws && request.routeOptions.url !== PUSH_PATH)
        throw new ClientError(404, 'There is no WebSocket here.');
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
      clearInterval(heartbeat);
      clearInterval(sessionSweep);
      sessionEvents.disconnect();
      for (const socket of sockets.keys()) socket.close(PUSH_SERVER_RESTARTING_CLOSE_CODE, 'server restarting');
      // A stop is mostly a restart: the users stay online while their panels reconnect, and go
      // offline RESTART_GRACE_MS later if they do not (docs/presence-and-pause.md).
      const held = new Set([...heldAtStop, ...perUser.keys()]);
      await Promise.all(
        [...held].map((userId) => presenceStep(userId, () => app.presence.handOver(userId, RESTART_GRACE_MS))),
      );
      perUser.clear();
    });
  },
  { name: 'push', dependencies: ['redis', 'websocket', 'auth', 'stores', 'live-events'] },
);
