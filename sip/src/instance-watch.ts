import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ORPHAN_SWEEP_MS } from './callbacks/orphaned-callbacks.js';
import { INSTANCE_STOPPED_CHANNEL, readInstances } from '@deskline/store';

/** How often a running instance looks whether another one has gone (CLIENT LIST). */
export const INSTANCE_WATCH_MS = 1_000;

export interface InstanceWatchOptions {
  redis: Redis;
  instanceId: string;
  /**
   * Takes over what instances that are gone left behind. `stopped` are instances that said they
   * stopped (their calls left): theirs are taken even while their Redis connection is still listed.
   */
  takeOver(reason: 'stopped' | 'gone' | 'sweep', stopped: ReadonlySet<string>): Promise<void>;
  log: Logger;
}

/**
 * With several sip app instances, the survivors carry on the calls of one that stops or dies while
 * they run (not only at their own start): an instance that stops (SIGTERM) says so on
 * INSTANCE_STOPPED_CHANNEL once it has left its calls; one that dies loses its named Redis connection,
 * which the others see within INSTANCE_WATCH_MS. Not right after a Redis restart or failover,
 * though: the new server lists only the connections that are back, so a missing instance is judged
 * gone only once this one's own connection is RECONNECT_GRACE_SECONDS old (instance.ts), by when
 * every live instance has reconnected. Either way each survivor runs the takeover, whose Lua
 * lets only one of them take each call. Takeovers run one at a time.
 */
export class InstanceWatch {
  private subscriber: Redis | undefined;
  private timer: NodeJS.Timeout | undefined;
  private known = new Set<string>();
  private lastSweep = Date.now();
  private running: Promise<void> = Promise.resolve();
  private stopped = true;

  constructor(private readonly options: InstanceWatchOptions) {}

  async start(): Promise<void> {
    const { redis, log } = this.options;
    this.stopped = false;
    const subscriber = redis.duplicate({ connectionName: 'sip-instance-watch', lazyConnect: true });
    this.subscriber = subscriber;
    subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'instance watch: Redis connection problem'));
    subscriber.on('message', (_channel: string, id: string) => {
      if (id === this.options.instanceId || this.stopped) return;
      log.info({ instance: id }, 'a sip app instance stopped; taking over its calls');
      this.run('stopped', new Set([id]));
    });
    await subscriber.connect();
    await subscriber.subscribe(INSTANCE_STOPPED_CHANNEL);
    this.known = await readInstances(redis, this.options.instanceId).then(
      (list) => list.live,
      () => new Set<string>(),
    );
    this.schedule();
  }

  /** No more takeovers; waits for one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await subscriber?.quit().catch(() => subscriber.disconnect());
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.look().finally(() => this.schedule()), INSTANCE_WATCH_MS);
  }

  private async look(): Promise<void> {
    let live: Set<string>;
    try {
      const list = await readInstances(this.options.redis, this.options.instanceId);
      if (!list.settled) {
        // Our connection is young (a Redis restart or failover): the server lists only who has
        // reconnected so far. Missing ones are judged once everyone has had the time to.
        for (const id of list.live) this.known.add(id);
        return;
      }
      live = list.live;
    } catch (err) {
      this.options.log.debug({ err }, 'instance watch: CLIENT LIST failed');
      return;
    }
    const gone = [...this.known].filter((id) => !live.has(id) && id !== this.options.instanceId);
    this.known = live;
    if (gone.length > 0) {
      this.options.log.warn({ instances: gone }, 'a sip app instance is gone; taking over its calls');
      this.run('gone', new Set());
    } else if (Date.now() - this.lastSweep >= ORPHAN_SWEEP_MS) {
      // Whatever it saw: an instance may have come and gone between two looks.
      this.run('sweep', new Set());
    }
  }

  private run(reason: 'stopped' | 'gone' | 'sweep', stopped: ReadonlySet<string>): void {
    this.lastSweep = Date.now();
    this.running = this.running.then(async () => {
      if (this.stopped) return;
      try {
        await this.options.takeOver(reason, stopped);
      } catch (err) {
        this.options.log.warn({ err, reason }, 'could not take over the calls of a sip app instance that is gone');
      }
    });
  }
}
