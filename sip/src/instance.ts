import type { Redis } from 'ioredis';

/**
 * How sip app instances know which of them are alive, for calls a dead one left behind: each names
 * its Redis connection after its id, and a process that dies loses its connection with it (the
 * kernel closes the socket even on SIGKILL). So a restarted app can tell at once, without waiting for
 * a heartbeat key to expire, that the instance before it is gone.
 */
const PREFIX = 'sip-app:';

/** The name (CLIENT SETNAME) of an instance's Redis connection. */
export function instanceConnectionName(instanceId: string): string {
  return `${PREFIX}${instanceId}`;
}

/** The ids of the instances that have a connection to Redis now. */
export async function liveInstanceIds(redis: Redis): Promise<Set<string>> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  const ids = new Set<string>();
  for (const match of list.matchAll(/(?:^|\s)name=sip-app:(\S+)/g)) if (match[1]) ids.add(match[1]);
  return ids;
}

/**
 * Where an instance that stops says so, once it has left its calls (its id is the message): the
 * others adopt them at once, without waiting for its Redis connection to close.
 */
export const INSTANCE_STOPPED_CHANNEL = 'sip-app:stopped';
