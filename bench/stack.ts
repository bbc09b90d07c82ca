/**
 * Shared by the call benches: starts Deskline's call path on free ports on 127.0.0.1 with the
 * integration tests' helpers (loaded from tests/dist at run time; their types come from the tests
 * project reference): redis-server, rtpengine, Kamailio (the test helper's config, 2 workers) and the
 * sip app (SKIP_INTRO=true, the real pbx-config/media). Everything started is registered for
 * `stopAll()`, which also runs on Ctrl-C / SIGTERM.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

type RedisHelpers = typeof import('../tests/helpers/redis.js');
type RtpengineHelpers = typeof import('../tests/helpers/rtpengine.js');
type KamailioHelpers = typeof import('../tests/helpers/kamailio.js');
type SipAppHelpers = typeof import('../tests/helpers/sip-app.js');
type KillOnExitHelpers = typeof import('../tests/helpers/kill-on-exit.js');

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
export const CLOCK_TICKS = 100;
export const CLINIC_NUMBER = '100';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');

/** A compiled test module, e.g. `helpers/redis.js`, from tests/dist. */
export const load = <T>(relative: string): Promise<T> =>
  import(new URL(`../../tests/dist/${relative}`, import.meta.url).href) as Promise<T>;

const cleanups: Array<() => unknown> = [];
export function onStop(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}
// The servers run in process groups of their own: on Ctrl-C, stop them before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the stack`);
    void stopAll().finally(() => process.exit(130));
  });
}
export async function stopAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (err) {
      console.error('cleanup failed:', err);
    }
  }
}

export function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(1);
  return `n ${sorted.length}  p50 ${pct(50)}  p95 ${pct(95)}  max ${pct(100)} ms`;
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** utime+stime ticks and RSS kB summed over a process group (Kamailio and rtpengine fork or thread). */
export function groupUsage(pgid: number): { ticks: number; rssKb: number; pssKb: number; processes: number } {
  let ticks = 0;
  let rssKb = 0;
  let pssKb = 0;
  let processes = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
      if (Number(fields[2]) !== pgid) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
      rssKb += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1] ?? 0);
      // PSS shares shared pages (Kamailio's shm) out among the processes that map them.
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
      processes += 1;
    } catch {
      // gone meanwhile
    }
  }
  return { ticks, rssKb, pssKb, processes };
}

export function redisPid(url: string): number | undefined {
  const port = new URL(url).port;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes('redis-server') && cmdline.includes(port)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export interface StackOptions {
  /** rtpengine's port range size. */
  rtpPorts: number;
  /** Extra environment for the sip app. */
  appEnv?: Record<string, string>;
  /** Kamailio's WS_MAX_CONNECTIONS_PER_ADDRESS; its default (150) unless given. */
  wsMaxConnectionsPerAddress?: number;
}

/** Starts redis-server, rtpengine, Kamailio and the sip app; each is stopped by `stopAll()`. */
export async function startStack(options: StackOptions) {
  const [{ startTestRedis }, { startTestRtpengine }, { startTestKamailio }, { startSipApp }, { killOnExit }] =
    await Promise.all([
      load<RedisHelpers>('helpers/redis.js'),
      load<RtpengineHelpers>('helpers/rtpengine.js'),
      load<KamailioHelpers>('helpers/kamailio.js'),
      load<SipAppHelpers>('helpers/sip-app.js'),
      load<KillOnExitHelpers>('helpers/kill-on-exit.js'),
    ]);
  const redisServer = await startTestRedis();
  onStop(() => redisServer.stop());
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  onStop(() => redis.quit().catch(() => redis.disconnect()));
  const rtpengine = await startTestRtpengine({ ports: options.rtpPorts });
  onStop(() => rtpengine.stop());
  const kamailio = await startTestKamailio({
    redisUrl: redisServer.url,
    ...(options.wsMaxConnectionsPerAddress !== undefined
      ? { wsMaxConnectionsPerAddress: options.wsMaxConnectionsPerAddress }
      : {}),
  });
  onStop(() => kamailio.stop());
  const app = await startSipApp({
    env: {
      REDIS_URL: redisServer.url,
      SIP_PORT: String(kamailio.sipPort),
      SIP_APP_HOST: kamailio.appHost,
      SIP_APP_PORT: String(kamailio.appPort),
      RTPENGINE_NG_PORT: String(rtpengine.ngPort),
      RTPENGINE_DTMF_PORT: String(rtpengine.dtmfPort),
      CLINIC_NUMBERS: CLINIC_NUMBER,
      MEDIA_DIR: path.join(root, 'pbx-config/media'),
      SKIP_INTRO: 'true',
      ...options.appEnv,
    },
    readyWhen: 'options-answered',
  });
  onStop(() => app.stop());
  // Like the other servers (their helpers do it): killed when the bench exits however it exits.
  killOnExit(app.process);
  const processGroups: Array<[string, number | undefined]> = [
    ['redis-server', redisPid(redisServer.url)],
    ['rtpengine', rtpengine.process.pid],
    ['kamailio', kamailio.process.pid],
    ['sip app', app.process.pid],
  ];
  return { redisServer, redis, rtpengine, kamailio, app, processGroups, startTestKamailio };
}

/**
 * What signaling gives the holder of a browser workstation: the tests' `workstationCredentials`
 * (computed with Kamailio's secret and recorded in Redis, where Kamailio checks them since they can be
 * revoked), valid 1 h.
 */
export async function credentials(
  kamailio: import('../tests/helpers/kamailio.js').TestKamailio,
  workstationId: string,
) {
  const { workstationCredentials } = await load<KamailioHelpers>('helpers/kamailio.js');
  return workstationCredentials(kamailio, workstationId);
}
