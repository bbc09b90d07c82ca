import { Redis } from 'ioredis';

/** A subscriber that keeps every message of one channel and lets a test wait for one. */
export class ChannelRecorder<T = unknown> {
  readonly messages: T[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly connection: Redis) {}

  static async subscribe<T = unknown>(redisUrl: string, channel: string): Promise<ChannelRecorder<T>> {
    const connection = new Redis(redisUrl);
    const recorder = new ChannelRecorder<T>(connection);
    connection.on('message', (from: string, payload: string) => {
      if (from !== channel) return;
      let value: unknown;
      try {
        value = JSON.parse(payload);
      } catch {
        value = payload;
      }
      recorder.messages.push(value as T);
      for (const listener of [...recorder.listeners]) listener();
    });
    await connection.subscribe(channel);
    return recorder;
  }

  /** Resolves with the first message (already received or still to come) matching `predicate`. */
  waitFor(predicate: (message: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.messages.find(predicate);
        if (found === undefined) return;
        finish();
        resolve(found);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; messages so far: ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  close(): void {
    this.connection.disconnect();
  }
}
