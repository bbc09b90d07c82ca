import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@deskline/scripts/free-port';
import { startRedisServer } from '@deskline/scripts/redis-server';
import { killOnExit } from './kill-on-exit.js';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** A real redis-server on a free port with a throwaway data folder. */
export async function startTestRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-redis-'));
  const running = await startRedisServer({ host: '127.0.0.1', port: await freePort(), dir, appendOnly: false });
  killOnExit(running.process);
  return {
    url: running.url,
    async stop() {
      await running.process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
