import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { SESSION_COOKIE, type PushEvent } from '@deskline/protocol';
import { Recorder } from './recorder.js';
import type { LoggedIn } from './signaling.js';

export interface SeenPush {
  event: PushEvent;
  /** Epoch ms when the test received it. */
  at: number;
}

/** A panel's push socket, opened in a session through `injectWS`: keeps every event and lets a test wait for one. */
export class PushEvents {
  private readonly recorder = new Recorder<SeenPush>('push socket', (seen) => JSON.stringify(seen.map((s) => s.event)));
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) =>
      this.recorder.add({ event: JSON.parse(data.toString()) as PushEvent, at: Date.now() }),
    );
    this.closed = new Promise((resolve) => socket.on('close', (code: number) => resolve(code)));
  }

  static async open(app: FastifyInstance, who: LoggedIn): Promise<PushEvents> {
    await app.ready();
    const socket = await app.injectWS('/api/push', { headers: { cookie: `${SESSION_COOKIE}=${who.cookie}` } });
    return new PushEvents(socket);
  }

  /** Every event received, in order. */
  get seen(): readonly SeenPush[] {
    return this.recorder.items;
  }

  /** How many events have arrived: pass it as `from` to wait only for later ones. */
  mark(): number {
    return this.recorder.mark();
  }

  /** The first event from index `from` on (already here or still to come) that matches. */
  waitFor<T extends PushEvent>(
    what: string,
    match: (event: PushEvent) => event is T,
    from = 0,
    timeoutMs = 5000,
  ): Promise<SeenPush & { event: T }> {
    return this.recorder.waitFor(what, (seen): seen is SeenPush & { event: T } => match(seen.event), from, timeoutMs);
  }

  close(): Promise<number> {
    this.socket.close(1000);
    return this.closed;
  }
}

type MemberEvent = Extract<PushEvent, { type: 'member' }>;

/** Matches a `member` event of `userId` whose member passes `test`. */
export function memberEvent(userId: string, test: (member: MemberEvent['member']) => boolean = () => true) {
  return (event: PushEvent): event is MemberEvent =>
    event.type === 'member' && event.member.userId === userId && test(event.member);
}
