/**
 * The call-events stream as signaling tails it: a blocking reader on a connection of its own that
 * keeps every event with the time it arrived, and lets a test wait for one.
 */
import { Redis } from 'ioredis';
import { type CallEvent, type CallView } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';

export interface SeenEvent {
  call: CallView;
  /** Epoch ms when the test read it. */
  at: number;
}

export class CallEvents {
  readonly events: SeenEvent[] = [];
  private readonly listeners = new Set<() => void>();
  private running = true;
  private readonly done: Promise<void>;

  private constructor(private readonly reader: Redis) {
    this.done = this.tail();
  }

  /** Starts reading at the stream's end: only events from now on. */
  static async open(redisUrl: string): Promise<CallEvents> {
    const reader = new Redis(redisUrl, { maxRetriesPerRequest: null });
    await reader.ping();
    return new CallEvents(reader);
  }

  /** How many events have been read: pass it as `from` to wait only for later ones. */
  mark(): number {
    return this.events.length;
  }

  /**
   * Resolves with the first event (already read from index `from` on, or still to come) in `state`,
   * of the call `callId` if given.
   */
  waitFor(what: { callId?: string; state: CallView['state']; from?: number }, timeoutMs = 5000): Promise<SeenEvent> {
    const matches = (event: SeenEvent): boolean =>
      event.call.state === what.state && (what.callId === undefined || event.call.id === what.callId);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.slice(what.from ?? 0).find(matches);
        if (!found) return;
        finish();
        resolve(found);
      };
      const timer = setTimeout(() => {
        finish();
        const seen = this.events.map((e) => `${e.call.id.slice(0, 8)}:${e.call.state}`).join(', ');
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a call ${what.state} event; seen: ${seen || 'none'}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The states recorded for one call, in order. */
  states(callId: string): string[] {
    return this.events.filter((e) => e.call.id === callId).map((e) => e.call.state);
  }

  async close(): Promise<void> {
    this.running = false;
    this.reader.disconnect();
    await this.done;
  }

  private async tail(): Promise<void> {
    let lastId = '$';
    while (this.running) {
      let result: Array<[string, Array<[string, string[]]>]> | null;
      try {
        result = (await this.reader.xread('BLOCK', 1000, 'STREAMS', RedisStreams.callEvents, lastId)) as typeof result;
      } catch {
        return;
      }
      for (const [, entries] of result ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const json = fields[fields.indexOf('event') + 1];
          if (!json) continue;
          this.events.push({ call: (JSON.parse(json) as CallEvent).call, at: Date.now() });
        }
      }
      for (const listener of [...this.listeners]) listener();
    }
  }
}
