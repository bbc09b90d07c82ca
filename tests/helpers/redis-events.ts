import { Redis } from 'ioredis';
import { Recorder } from './recorder.js';

/** A subscriber that keeps every message of one channel and lets a test wait for one. */
export class ChannelRecorder<T = unknown> {
  private readonly recorder: Recorder<T>;

  private constructor(
    private readonly connection: Redis,
    channel: string,
  ) {
    this.recorder = new Recorder<T>(`channel ${channel}`, (messages) => JSON.stringify(messages));
  }

  static async subscribe<T = unknown>(redisUrl: string, channel: string): Promise<ChannelRecorder<T>> {
    const connection = new Redis(redisUrl);
    const recorder = new ChannelRecorder<T>(connection, channel);
    connection.on('message', (from: string, payload: string) => {
      if (from !== channel) return;
      let value: unknown;
      try {
        value = JSON.parse(payload);
      } catch {
        value = payload;
      }
      recorder.recorder.add(value as T);
    });
    await connection.subscribe(channel);
    return recorder;
  }

  /** Every message received, in order. */
  get messages(): readonly T[] {
    return this.recorder.items;
  }

  /** Resolves with the first message (already received or still to come) matching `predicate`. */
  waitFor(predicate: (message: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
    return this.recorder.waitFor(what, predicate, 0, timeoutMs);
  }

  close(): void {
    this.connection.disconnect();
  }
}
