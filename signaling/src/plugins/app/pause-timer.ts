import fp from 'fastify-plugin';
import { RedisChannels, RedisKeys, pauseTimerDelay } from '@deskline/protocol';

/** A look at Redis that failed (Redis away) is tried again after this long. */
const RETRY_MS = 1_000;

/**
 * Ends pauses on time, even with every browser closed (docs/presence-and-pause.md): one timer for
 * the earliest end in `agents:pause-ends`, set again at start, on every `pause:changed` (any
 * instance's pause, resume or logout, and every ended pause) and after the subscription reconnects.
 * The sip app runs the same script on a timer of its own; either alone suffices, and the script is
 * idempotent, so both firing at once is harmless.
 */
export default fp(
  async (app) => {
    const subscriber = app.redis.duplicate({ connectionName: 'signaling-pause-timer' });
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    // Bumped by every arm(), so that a slow look at Redis cannot set a timer over a newer one.
    let generation = 0;

    const retry = (err: unknown, seen: number): void => {
      if (stopped || seen !== generation) return;
      app.log.warn({ err: (err as Error).message }, `pause timer: cannot look at pause ends; trying again in ${RETRY_MS} ms`);
      clearTimeout(timer);
      timer = setTimeout(arm, RETRY_MS);
    };

    const fire = async (): Promise<void> => {
      const seen = generation;
      try {
        const ended = await app.agents.endDuePauses();
        if (ended.length > 0) app.log.info({ userIds: ended }, 'pause over: available again');
        arm();
      } catch (err) {
        retry(err, seen);
      }
    };

    function arm(): void {
      if (stopped) return;
      const seen = ++generation;
      app.redis.zrange(RedisKeys.pauseEnds, 0, 0, 'WITHSCORES').then(
        ([, score]) => {
          if (stopped || seen !== generation) return;
          clearTimeout(timer);
          timer = score === undefined ? undefined : setTimeout(() => void fire(), pauseTimerDelay(Number(score), Date.now()));
        },
        (err: unknown) => retry(err, seen),
      );
    }

    subscriber.on('error', (err: Error) => app.log.warn({ err: err.message }, 'pause timer subscription: Redis connection problem'));
    subscriber.on('message', () => arm());
    // Also after a reconnect: a pause:changed sent meanwhile was lost.
    subscriber.on('ready', () => arm());

    // ioredis subscribes again by itself after a reconnect.
    subscriber.subscribe(RedisChannels.pauseChanged).catch((err: Error) => app.log.warn({ err: err.message }, 'pause timer: cannot subscribe'));
    app.addHook('onClose', async () => {
      stopped = true;
      clearTimeout(timer);
      subscriber.disconnect();
    });
  },
  { name: 'pause-timer', dependencies: ['redis', 'stores'] },
);
