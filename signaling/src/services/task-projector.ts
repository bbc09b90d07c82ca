import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import { type CallEvent, type CallbackEvent } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import type { TaskStore } from './task-store.js';

/** The consumer group every signaling instance reads both streams in, so that each event is applied once. */
export const TASKS_GROUP = 'tasks';
const STREAMS = [RedisStreams.callEvents, RedisStreams.callbackEvents] as const;
/**
 * How long one XREADGROUP waits for new entries. A reset of the group's position (XGROUP SETID, a
 * replay) does not wake a blocked read: the replay starts when the current one returns, at most this
 * much later.
 */
export const TASKS_READ_BLOCK_MS = 5_000;
const BATCH = 100;
/** An entry a consumer took and has not acknowledged for this long is taken over: that consumer died. */
const CLAIM_IDLE_MS = 30_000;
const CLAIM_EVERY_MS = 10_000;
/** A consumer with nothing pending that has not read for this long is a stopped instance: forgotten. */
const FORGET_CONSUMER_IDLE_MS = 24 * 60 * 60_000;
/**
 * The first time the group is created it starts this far back, so that calls in progress while
 * signaling was not yet running get their tasks; a Deskline upgraded to the call board does not
 * turn the last day's calls (the stream holds up to 10 000 events) into wrap-up tasks.
 */
const FIRST_START_LOOKBACK_MS = 60 * 60_000;
const RETRY_MS = 1_000;

type GroupReply = Array<[string, Array<[string, string[] | null]>]> | null;

function field(fields: string[], name: string): string | undefined {
  const index = fields.indexOf(name);
  return index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
}

/**
 * Projects the sip app's call and callback events into tasks (docs/call-board.md). Each signaling
 * instance is one consumer of the group `tasks`; it reads on a connection of its own (XREADGROUP
 * blocks it), applies each entry through the TaskStore, and acknowledges it afterwards, so an entry
 * is applied at least once; the store's per-call last applied entry makes it once in effect.
 */
export class TaskProjector {
  private running = false;
  private loop: Promise<void> | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  private readonly claimIdleMs: number;
  private readonly claimEveryMs: number;

  constructor(
    private readonly redis: Redis,
    /** A connection of the projector's own: XREADGROUP … BLOCK holds it. */
    private readonly reader: Redis,
    private readonly tasks: TaskStore,
    private readonly consumer: string,
    private readonly log: FastifyBaseLogger,
    timing: { claimIdleMs?: number; claimEveryMs?: number } = {},
  ) {
    this.claimIdleMs = timing.claimIdleMs ?? CLAIM_IDLE_MS;
    this.claimEveryMs = timing.claimEveryMs ?? CLAIM_EVERY_MS;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
    this.claimTimer = setInterval(() => void this.claimAbandoned(), this.claimEveryMs);
    this.claimTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.claimTimer);
    this.reader.disconnect();
    await this.loop;
    await this.finishOwn();
  }

  /**
   * A reply that was on its way when the reader was cut (a restart while events come) left its
   * entries in this consumer's pending list, where another instance would take them over only after
   * CLAIM_IDLE_MS: a task 30 s late. They are applied now, on the shared connection (no BLOCK).
   */
  private async finishOwn(): Promise<void> {
    const [calls, callbacks] = STREAMS;
    try {
      for (;;) {
        const reply = (await this.redis.xreadgroup(
          'GROUP',
          TASKS_GROUP,
          this.consumer,
          'COUNT',
          BATCH,
          'STREAMS',
          calls,
          callbacks,
          '0',
          '0',
        )) as GroupReply;
        if ((await this.applyAll(reply)) === 0) return;
      }
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'tasks: applying the last events before the stop failed; another instance takes them over',
      );
    }
  }

  /** Creates the group on both streams unless it exists (also after Redis lost it). */
  async ensureGroups(): Promise<void> {
    const start = `${Date.now() - FIRST_START_LOOKBACK_MS}-0`;
    for (const stream of STREAMS) {
      try {
        await this.redis.xgroup('CREATE', stream, TASKS_GROUP, start, 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
  }

  private async run(): Promise<void> {
    // First this consumer's own entries left unacknowledged (a failed apply), then new ones.
    let backlog = true;
    let groupsReady = false;
    while (this.running) {
      try {
        if (!groupsReady) {
          await this.ensureGroups();
          groupsReady = true;
          await this.claimAbandoned();
          await this.forgetStoppedConsumers();
        }
        const [calls, callbacks] = STREAMS;
        const reply = (
          backlog
            ? await this.reader.xreadgroup(
                'GROUP',
                TASKS_GROUP,
                this.consumer,
                'COUNT',
                BATCH,
                'STREAMS',
                calls,
                callbacks,
                '0',
                '0',
              )
            : await this.reader.xreadgroup(
                'GROUP',
                TASKS_GROUP,
                this.consumer,
                'COUNT',
                BATCH,
                'BLOCK',
                TASKS_READ_BLOCK_MS,
                'STREAMS',
                calls,
                callbacks,
                '>',
                '>',
              )
        ) as GroupReply;
        const count = await this.applyAll(reply);
        if (backlog && count === 0) backlog = false;
      } catch (err) {
        if (!this.running) return;
        const message = (err as Error).message;
        if (/NOGROUP/.test(message)) groupsReady = false;
        else this.log.warn({ err: message }, 'tasks: reading call events failed; retrying');
        backlog = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Applies and acknowledges a batch, in stream order; answers how many entries it held. */
  private async applyAll(reply: GroupReply): Promise<number> {
    let count = 0;
    for (const [stream, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        count += 1;
        // A pending entry trimmed from the stream meanwhile comes back without fields.
        if (fields) await this.apply(stream, id, fields);
        await this.redis.xack(stream, TASKS_GROUP, id);
      }
    }
    return count;
  }

  private async apply(stream: string, id: string, fields: string[]): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(field(fields, 'event') ?? '');
    } catch {
      this.log.warn({ stream, id }, 'tasks: unreadable event skipped');
      return;
    }
    if (stream === RedisStreams.callEvents) {
      const call = (parsed as CallEvent | null)?.call;
      if (!call?.id || typeof call.from !== 'string')
        return void this.log.warn({ stream, id }, 'tasks: call event without a call skipped');
      const result = await this.tasks.applyCallEvent(call, id);
      this.log.debug({ callId: call.id, state: call.state, id, result }, 'tasks: call event');
    } else {
      const callback = (parsed as CallbackEvent | null)?.callback;
      if (!callback?.id || !callback.taskId)
        return void this.log.warn({ stream, id }, 'tasks: callback event without a callback skipped');
      const result = await this.tasks.applyCallbackEvent(callback, id);
      this.log.debug({ callbackId: callback.id, state: callback.state, id, result }, 'tasks: callback event');
    }
  }

  /** Takes over, and applies, the entries another consumer took and never acknowledged. */
  private async claimAbandoned(): Promise<void> {
    if (!this.running) return;
    try {
      for (const stream of STREAMS) {
        let cursor = '0-0';
        do {
          const [next, entries] = (await this.redis.xautoclaim(
            stream,
            TASKS_GROUP,
            this.consumer,
            this.claimIdleMs,
            cursor,
            'COUNT',
            BATCH,
          )) as [string, Array<[string, string[] | null]>, ...unknown[]];
          if (entries.length > 0)
            this.log.info({ stream, count: entries.length }, 'tasks: took over events a stopped instance left');
          await this.applyAll([[stream, entries]]);
          cursor = next;
        } while (cursor !== '0-0' && this.running);
      }
    } catch (err) {
      if (this.running && !/NOGROUP/.test((err as Error).message)) {
        this.log.warn({ err: (err as Error).message }, 'tasks: taking over pending events failed');
      }
    }
  }

  /** Each start is a new consumer: the ones of stopped instances, with nothing left pending, are removed. */
  private async forgetStoppedConsumers(): Promise<void> {
    for (const stream of STREAMS) {
      const consumers = (await this.redis.xinfo('CONSUMERS', stream, TASKS_GROUP)) as Array<Array<string | number>>;
      for (const entry of consumers) {
        const info = new Map<string, string | number>();
        for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]!);
        const name = String(info.get('name'));
        if (
          name !== this.consumer &&
          Number(info.get('pending')) === 0 &&
          Number(info.get('idle')) > FORGET_CONSUMER_IDLE_MS
        ) {
          await this.redis.xgroup('DELCONSUMER', stream, TASKS_GROUP, name);
        }
      }
    }
  }
}
