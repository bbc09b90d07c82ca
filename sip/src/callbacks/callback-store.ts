import type { Redis } from 'ioredis';
import { type CallbackEvent, type CallbackGrant, type CallbackView } from '@deskline/protocol';
import {
  RedisKeys,
  RedisStreams,
  CALLBACK_EXTEND_LOCK,
  CALLBACK_RELEASE_LOCK,
  CALLBACK_END_ORPHAN,
} from '@deskline/store';

/** stream:callback-events is trimmed to about this many entries (`XADD … MAXLEN ~`); signaling reads it with a consumer group. */
export const CALLBACK_EVENTS_MAX_LENGTH = 10_000;
/**
 * How long `task-callback:<taskId>` lives without a refresh. A callback refreshes it every third of
 * this while it lasts, so a sip app that dies mid-call leaves the task locked for at most this long.
 */
export const CALLBACK_LOCK_SECONDS = 60;

const DAY_MS = 24 * 60 * 60 * 1000;

// The lock is signaling's (SET NX with the grant's TTL, value the callbackId): extended and released
// only while it still names this callback, so a later callback of the task is never unlocked by us.
// A callback not ended whose lock no longer names it was held by a sip app that died (a live one
// renews the lock every CALLBACK_LOCK_SECONDS / 3): it is recorded ended (failed) with an event, once.
// Numbers stay integers in cjson's output (epoch ms have 13 digits; cjson keeps 14).
/**
 * A callback's records in Redis (docs/call-board.md, "Callbacks"): the one-time grant signaling
 * wrote, the task's lock, the CallbackView at `callback:<id>` with the `callbacks` index (both kept
 * HISTORY_RETENTION_DAYS), and one event on `stream:callback-events` per state change, each change in
 * one MULTI.
 */
export class CallbackStore {
  constructor(
    private readonly redis: Redis,
    private readonly retentionDays: number,
  ) {}

  /** Takes the grant (GETDEL: a token works once). Undefined when there is none, or it is not a grant. */
  async takeGrant(token: string): Promise<CallbackGrant | undefined> {
    const json = await this.redis.getdel(RedisKeys.callbackGrant(token));
    if (json === null) return undefined;
    try {
      const value = JSON.parse(json) as unknown;
      return isGrant(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Extends the task's lock to CALLBACK_LOCK_SECONDS, if it is free or names this callback; false when
   * another callback holds it.
   */
  async holdLock(taskId: string, callbackId: string): Promise<boolean> {
    const held = await this.redis.eval(
      CALLBACK_EXTEND_LOCK,
      1,
      RedisKeys.taskCallback(taskId),
      callbackId,
      CALLBACK_LOCK_SECONDS,
    );
    return held === 1;
  }

  /** Writes the callback's new state and its event; an ended callback releases the task's lock in the same MULTI. */
  async record(view: CallbackView): Promise<void> {
    const key = RedisKeys.callback(view.id);
    const retentionMs = this.retentionDays * DAY_MS;
    const event: CallbackEvent = { callback: view };
    const tx = this.redis.multi();
    // Kept for the statistics as long as the other history: from its start, whatever its state.
    const expiresInMs = Math.max(1000, view.startedAt + retentionMs - Date.now());
    tx.set(key, JSON.stringify(view), 'PX', expiresInMs);
    tx.zadd(RedisKeys.callbacks, view.startedAt, view.id);
    tx.zremrangebyscore(RedisKeys.callbacks, '-inf', `(${Date.now() - retentionMs}`);
    if (view.state === 'ended') tx.eval(CALLBACK_RELEASE_LOCK, 1, RedisKeys.taskCallback(view.taskId), view.id);
    tx.xadd(
      RedisStreams.callbackEvents,
      'MAXLEN',
      '~',
      CALLBACK_EVENTS_MAX_LENGTH,
      '*',
      'event',
      JSON.stringify(event),
    );
    const results = await tx.exec();
    const failed = results?.find(([err]) => err !== null)?.[0];
    if (!results) throw new Error('the callback transaction was discarded');
    if (failed) throw failed;
  }

  /**
   * Ends, as failed, the callbacks of the last `sinceMs` that are not ended and whose lock no longer
   * names them: their sip app died. Returns their ids (their rtpengine sessions are the caller's to delete).
   */
  async endOrphans(sinceMs: number): Promise<string[]> {
    const now = Date.now();
    const ids = await this.redis.zrangebyscore(RedisKeys.callbacks, now - sinceMs, '+inf');
    const ended: string[] = [];
    for (const id of ids) {
      const json = await this.redis.get(RedisKeys.callback(id));
      if (json === null) continue;
      let view: CallbackView;
      try {
        view = JSON.parse(json) as CallbackView;
      } catch {
        continue;
      }
      if (view.state === 'ended' || typeof view.taskId !== 'string') continue;
      const keys = [RedisKeys.callback(id), RedisKeys.taskCallback(view.taskId), RedisStreams.callbackEvents];
      const done = await this.redis.eval(
        CALLBACK_END_ORPHAN,
        keys.length,
        ...keys,
        id,
        now,
        CALLBACK_EVENTS_MAX_LENGTH,
      );
      if (done === 1) ended.push(id);
    }
    return ended;
  }
}

function isGrant(value: unknown): value is CallbackGrant {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ['callbackId', 'taskId', 'number', 'userId', 'workstationId', 'sipUser'].every(
      (key) => typeof v[key] === 'string' && v[key] !== '',
    ) && typeof v['grantedAt'] === 'number'
  );
}
