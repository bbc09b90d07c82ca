import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import {
  RedisKeys,
  RedisStreams,
  callFromHash,
  type CallEvent,
  type CallView,
  type PushEvent,
} from '@deskline/protocol';
import type { Config } from '../../config.js';
import { authenticated } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    push: PushHub;
  }
}

export interface PushHub {
  /** Closes the push sockets of a session that ended (logout). */
  closeSession(sessionId: string): void;
  /** Closes the sockets of every session of `userId` but `exceptSessionId` (a password change). */
  closeUserSessions(userId: string, exceptSessionId: string): void;
  /** The session was renewed under a new id: its open sockets now belong to the new one. */
  renameSession(fromSessionId: string, toSessionId: string): void;
  /** How many panels are connected. */
  readonly size: number;
}

const BLOCK_MS = 5_000;

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
 * Live state for every logged-in panel: a WebSocket at /api/push (session cookie required) that first
 * sends the calls in progress, then every call event the sip app appends to the Redis stream. One
 * blocking reader per signaling instance; each instance fans out to its own sockets.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    await app.register(websocket, { options: { maxPayload: 4096 } });
    const sockets = new Map<WebSocket, { sessionId: string; userId: string }>();
    const reader = app.redis.duplicate({ connectionName: 'signaling-push' });
    let running = true;

    const broadcast = (event: PushEvent): void => {
      const text = JSON.stringify(event);
      for (const socket of sockets.keys()) if (socket.readyState === socket.OPEN) socket.send(text);
    };

    const tail = async (): Promise<void> => {
      let lastId = '$';
      while (running) {
        try {
          const result = (await reader.xread('BLOCK', BLOCK_MS, 'STREAMS', RedisStreams.callEvents, lastId)) as
            | Array<[string, Array<[string, string[]]>]>
            | null;
          for (const [, entries] of result ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              const raw = fields[fields.indexOf('event') + 1];
              try {
                const { call } = JSON.parse(raw ?? '') as CallEvent;
                if (call?.id) broadcast({ type: 'call', call });
              } catch {
                app.log.warn({ id }, 'push: unreadable call event skipped');
              }
            }
          }
        } catch (err) {
          if (!running) return;
          app.log.warn({ err: (err as Error).message }, 'push: reading call events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    };

    app.decorate('push', {
      closeSession(sessionId: string) {
        for (const [socket, owner] of sockets) if (owner.sessionId === sessionId) socket.close(4001, 'session ended');
      },
      closeUserSessions(userId: string, exceptSessionId: string) {
        for (const [socket, owner] of sockets) {
          if (owner.userId === userId && owner.sessionId !== exceptSessionId) socket.close(4001, 'session ended');
        }
      },
      renameSession(fromSessionId: string, toSessionId: string) {
        for (const owner of sockets.values()) if (owner.sessionId === fromSessionId) owner.sessionId = toSessionId;
      },
      get size() {
        return sockets.size;
      },
    });

    app.get('/api/push', { websocket: true }, async (socket, request) => {
      const origin = request.headers.origin;
      const allowed = opts.config.PUBLIC_ORIGIN ?? `${request.protocol}://${request.host}`;
      if (origin !== undefined && origin !== allowed) {
        socket.close(1008, 'cross-site');
        return;
      }
      const { session, user } = authenticated(request);
      sockets.set(socket, { sessionId: session.id, userId: user.id });
      socket.on('close', () => sockets.delete(socket));
      // Panels only listen; anything they send is ignored.
      socket.on('message', () => undefined);
      const hello: PushEvent = { type: 'hello', calls: await activeCalls(app), team: [] };
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(hello));
    });

    app.addHook('onReady', async () => {
      void tail();
    });
    app.addHook('onClose', async () => {
      running = false;
      for (const socket of sockets.keys()) socket.close(1001, 'server stopping');
      reader.disconnect();
    });
  },
  { name: 'push', dependencies: ['redis', 'auth'] },
);
