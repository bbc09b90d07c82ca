/**
 * The call-events stream as signaling tails it: a blocking reader on a connection of its own that
 * keeps every event with the time it arrived, and lets a test wait for one.
 */
import { Redis } from 'ioredis';
import { type CallEvent, type CallView } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { Recorder } from './recorder.js';

export interface SeenEvent {
  call: CallView;
  /** Epoch ms when the test read it. */
  at: number;
}

export class CallEvents {
  private readonly recorder = new Recorder<SeenEvent>('call events', (seen) =>
    seen.map((e) => `${e.call.id.slice(0, 8)}:${e.call.state}`).join(', '),
  );
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

  /** Every event read, in order. */
  get events(): readonly SeenEvent[] {
    return this.recorder.items;
  }

  /** How many events have been read: pass it as `from` to wait only for later ones. */
  mark(): number {
    return this.recorder.mark();
  }

  /**
   * Resolves with the first event (already read from index `from` on, or still to come) in `state`,
   * of the call `callId` if given.
   */
  waitFor(what: { callId?: string; state: CallView['state']; from?: number }, timeoutMs = 5000): Promise<SeenEvent> {
    return this.recorder.waitFor(
      `a call ${what.state} event`,
      (event) => event.call.state === what.state && (what.callId === undefined || event.call.id === what.callId),
      what.from ?? 0,
      timeoutMs,
    );
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
        result = await this.reader.xread('BLOCK', 1000, 'STREAMS', RedisStreams.callEvents, lastId);
      } catch {
        return;
      }
      for (const [, entries] of result ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const json = fields[fields.indexOf('event') + 1];
          if (!json) continue;
          this.recorder.add({ call: (JSON.parse(json) as CallEvent).call, at: Date.now() });
        }
      }
    }
  }
}
