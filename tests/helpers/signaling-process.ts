import path from 'node:path';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { ManagedProcess, waitUntilHealthy } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';

export interface SignalingProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The compiled signaling server (`node signaling/dist/server.js`) as its own process on a free port of
 * 127.0.0.1, healthy before this returns: for measuring what it costs apart from the code that drives
 * it. `env` adds configuration (REDIS_URL at least); its log lines go to `onLine`.
 */
export async function startSignalingProcess(
  env: Record<string, string>,
  { onLine, timeoutMs = 15_000 }: { onLine?: (line: string) => void; timeoutMs?: number } = {},
): Promise<SignalingProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = killOnExit(
    ManagedProcess.start({
      name: 'signaling',
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'signaling/dist/server.js')],
      env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
      ...(onLine ? { onLine } : {}),
    }),
  );
  const healthy = (): Promise<boolean> =>
    fetch(`${url}/api/health`).then(
      (response) => response.ok,
      () => false,
    );
  await waitUntilHealthy(proc, healthy, timeoutMs);
  return {
    url,
    process: proc,
    async stop() {
      await proc.stop();
    },
  };
}
