import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiError } from '@deskline/protocol';
import { startTestRedis } from '../../helpers/redis.js';
import { buildTestApp, createUser, login } from '../../helpers/signaling.js';

test('when Redis dies, health says 503 and login fails with a generic 5xx, not a crash', async () => {
  const redis = await startTestRedis();
  const app = await buildTestApp(redis.url);
  try {
    const password = await createUser(app, 'anna@clinic.example', 'employee');
    await redis.stop();
    const health = await app.inject({ method: 'GET', url: '/api/health' });
    assert.is(health.statusCode, 503);
    assert.is(health.json<ApiError>().message, 'Redis is not reachable.');
    const attempt = await login(app, 'anna@clinic.example', password);
    assert.is(attempt.statusCode, 500);
    assert.is(attempt.json<ApiError>().message, 'Something went wrong on the server. Try again in a moment.');
  } finally {
    await app.close();
  }
});

test('signaling refuses to start when Redis cannot be reached, naming the URL', async () => {
  try {
    await buildTestApp('redis://127.0.0.1:1');
    assert.unreachable('buildApp should have failed');
  } catch (err) {
    assert.instance(err, Error);
    assert.match((err as Error).message, /Cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  }
});

test.run();
