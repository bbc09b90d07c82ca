/**
 * A dead dependency: Redis goes away while a pause runs and comes back (same port, data kept by its
 * AOF) after the pause was due. The API answers a generic 5xx meanwhile, and signaling's pause timer
 * keeps trying, so the pause ends as soon as Redis is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ApiError } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { startRedisServer, type RunningRedis } from '@deskline/scripts/redis-server';
import { killOnExit } from '../../helpers/kill-on-exit.js';
import { asUser, buildTestApp, createUser, loginOk } from '../../helpers/signaling.js';
import { waitFor } from '../../helpers/wait.js';

test('a pause that comes due while Redis is down ends as soon as Redis is back', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-redis-'));
  const port = await freePort();
  const start = async (): Promise<RunningRedis> => {
    const running = await startRedisServer({ host: '127.0.0.1', port, dir, appendOnly: true });
    killOnExit(running.process);
    return running;
  };
  let redis = await start();
  const app = await buildTestApp(redis.url);
  const db = new Redis(redis.url, { maxRetriesPerRequest: null });
  db.on('error', () => undefined);
  try {
    const anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
    const desk = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
    await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id });
    await app.ready();
    const { pausedUntil } = await app.agents.pause(anna.info.user.id, 1500);
    await redis.process.stop();

    const refused = await asUser(app, anna, 'PUT', '/api/pause', { minutes: 5 });
    assert.is(refused.statusCode, 500);
    assert.is(refused.json<ApiError>().message, 'Something went wrong on the server. Try again in a moment.');
    // The pause comes due while Redis is away: signaling's timer fires and cannot reach it.
    await waitFor('the pause to be due', () => Date.now() > pausedUntil! + 1000, 5000);

    redis = await start();
    const back = Date.now();
    await waitFor(
      'the pause to end',
      async () => (await db.hget(RedisKeys.agent(anna.info.user.id), 'state')) === 'available',
      10_000,
    );
    console.log(`  Redis back -> the overdue pause ended ${Date.now() - back} ms later`);
    assert.is((await asUser(app, anna, 'GET', '/api/pause')).json<{ state: string }>().state, 'available');
  } finally {
    db.disconnect();
    await app.close();
    await redis.process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
