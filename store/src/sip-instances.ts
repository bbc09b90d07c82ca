import type { Redis } from 'ioredis';
import { RedisChannels, RedisKeys, SIP_APP_CONNECTION_PREFIX } from './keys.js';

/**
 * How sip app instances know which of them are alive, for calls a dead one left behind: each names
 * its Redis connection after its id, and a process that dies loses its connection with it (the
 * kernel closes the socket even on SIGKILL). So a restarted app can tell at once, without waiting for
 * a heartbeat key to expire, that the instance before it is gone.
 */
const PREFIX = SIP_APP_CONNECTION_PREFIX;

/**
 * How old (CLIENT LIST `age`, whole seconds) this instance's own connection must be before an
 * instance missing from CLIENT LIST counts as dead. After a Redis restart or a Sentinel failover the
 * server lists only the connections that have already come back: every live instance reconnects
 * within well under a second of the others (measured 0.01–0.3 s; ioredis retries at most 1 s apart),
 * so one that is still missing when our own connection has been there this long is really gone.
 * Redis counts `age` in whole seconds of the clock (created at x.999, listed at x+3.000: age 3), so
 * 3 means more than 2 s. A killed instance is still noticed within INSTANCE_WATCH_MS while Redis
 * runs on; only right after our own (re)connect, at our start or after a failover, does the verdict
 * wait up to this long. docs/scaling.md ("Two sip app instances") tells the story.
 */
export const RECONNECT_GRACE_SECONDS = 3;

/** The name (CLIENT SETNAME) of an instance's Redis connection. */
export function instanceConnectionName(instanceId: string): string {
  return `${PREFIX}${instanceId}`;
}

/** The sip app instances Redis holds a connection of now, read from CLIENT LIST by instance `self`. */
export interface InstanceList {
  /** The ids of the instances that have a connection to Redis now: alive, whatever `settled` says. */
  live: Set<string>;
  /**
   * Whether an instance missing from `live` is dead: `self`'s own connection is at least
   * RECONNECT_GRACE_SECONDS old, so every live instance has had time to reconnect to this server.
   */
  settled: boolean;
}

/** Reads CLIENT LIST on `redis`, the connection named after `self` (instanceConnectionName). */
export async function readInstances(redis: Redis, self: string): Promise<InstanceList> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  const live = new Set<string>();
  let ownAge: number | undefined;
  for (const line of list.split('\n')) {
    const id = new RegExp(`(?:^|\\s)name=${PREFIX}(\\S+)`).exec(line)?.[1];
    if (!id) continue;
    live.add(id);
    if (id !== self) continue;
    const age = Number(/(?:^|\s)age=(\d+)/.exec(line)?.[1] ?? 0);
    ownAge = Math.min(ownAge ?? age, age);
  }
  return { live, settled: ownAge !== undefined && ownAge >= RECONNECT_GRACE_SECONDS };
}

/** How often the wait for a settled list reads CLIENT LIST again. */
const SETTLE_POLL_MS = 250;

/**
 * The instances alive, once a missing one can be judged dead (`settled`): reads CLIENT LIST until
 * this instance's connection is RECONNECT_GRACE_SECONDS old, which right after a (re)connect takes
 * up to that long. Rejects after `timeoutMs` (a connection that keeps dropping): better to leave
 * calls for a later try than to take live ones.
 */
export async function settledInstanceIds(
  redis: Redis,
  self: string,
  timeoutMs = 10 * RECONNECT_GRACE_SECONDS * 1000,
): Promise<Set<string>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const list = await readInstances(redis, self);
    if (list.settled) return list.live;
    if (Date.now() >= until)
      throw new Error(`this instance's Redis connection has not stayed up ${RECONNECT_GRACE_SECONDS} s`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/**
 * Where an instance that stops says so, once it has left its calls (its id is the message): the
 * others adopt them at once, without waiting for its Redis connection to close.
 */
export const INSTANCE_STOPPED_CHANNEL = RedisChannels.sipAppStopped;

/** How long the word of an instance that stopped is kept for one that starts later (stoppedInstanceKey). */
const STOPPED_MARK_SECONDS = 24 * 3600;

/**
 * The key that says instance `id` stopped having left its calls: an instance that starts after the
 * message was published (a restart of a single one) adopts them at once too, without the
 * RECONNECT_GRACE_SECONDS its young connection would otherwise wait for a missing owner.
 */
export function stoppedInstanceKey(id: string): string {
  return RedisKeys.sipAppStopped(id);
}

/** Says that this instance stopped, having left its calls: written down, then published. */
export async function announceStopped(redis: Redis, id: string): Promise<void> {
  await redis
    .multi()
    .set(stoppedInstanceKey(id), '1', 'EX', STOPPED_MARK_SECONDS)
    .publish(INSTANCE_STOPPED_CHANNEL, id)
    .exec();
}

/**
 * The key naming the instance that last ran in `slot`: one host's SIP_APP_HEALTH_PORT, which only one
 * live process can listen on. Kept without expiry: one short key per slot.
 */
export function slotKey(slot: string): string {
  return `${PREFIX}slot:${slot}`;
}

/**
 * Called once this instance listens on its slot's port: writes its id in the slot and returns the id of
 * the instance that ran there before it, if that one is dead. A process restarted after a crash
 * (the launcher, or Docker's restart policy) thereby knows its predecessor is gone without the
 * RECONNECT_GRACE_SECONDS wait: it holds the port its predecessor held, so that one no longer runs
 * here. Its connection must be missing from CLIENT LIST too: a predecessor still listed is alive
 * somewhere (two hosts with one name, say) and keeps its calls.
 */
export async function deadPredecessor(redis: Redis, slot: string, self: string): Promise<string | undefined> {
  const previous = await redis.set(slotKey(slot), self, 'GET');
  if (!previous || previous === self) return undefined;
  const { live } = await readInstances(redis, self);
  return live.has(previous) ? undefined : previous;
}
