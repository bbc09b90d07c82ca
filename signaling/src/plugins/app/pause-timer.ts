import fp from 'fastify-plugin';
import { PauseTimer, RedisChannels } from '@deskline/store';

/**
 * Signaling's pause timer (PauseTimer, @deskline/store): armed at start, on every `pause:changed` (any
 * instance's pause, resume or logout, and every ended pause) and after the subscription reconnects.
 */
export default fp(
  async (app) => {
    const subscriber = app.redis.duplicate({ connectionName: 'signaling-pause-timer' });
    const timer = new PauseTimer(app.redis, app.agents.record, app.log);

    subscriber.on('error', (err: Error) =>
      app.log.warn({ err: err.message }, 'pause timer subscription: Redis connection problem'),
    );
    subscriber.on('message', () => timer.arm());
    // Also after a reconnect: a pause:changed sent meanwhile was lost.
    subscriber.on('ready', () => timer.arm());

    // ioredis subscribes again by itself after a reconnect.
    subscriber
      .subscribe(RedisChannels.pauseChanged)
      .catch((err: Error) => app.log.warn({ err: err.message }, 'pause timer: cannot subscribe'));
    app.addHook('onClose', async () => {
      timer.stop();
      subscriber.disconnect();
    });
  },
  { name: 'pause-timer', dependencies: ['redis', 'stores'] },
);
