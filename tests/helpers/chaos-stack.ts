/**
 * Deskline as `npm start` runs it (the real launcher, scripts/dist/launch.js, every service a child of
 * it), on free ports and a throwaway DESKLINE_VAR_DIR, for the chaos test and bench: which child has
 * which pid now, SIGKILL to one of them, how long until the launcher has it running and healthy again,
 * and what a workstation and a manager need to reach it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisKeys } from '@deskline/store';
import { readLaunchConfig, type LaunchConfig } from '@deskline/scripts/launch-config';
import { redisUrl, serviceDefinitions } from '@deskline/scripts/services';
import { sipEphemeralSecret } from '@deskline/scripts/secrets';
import type { SipEdge } from './agent-phone.js';
import { LAUNCHER_READY, LauncherRun, demoLogins, launcherEnv, launcherPorts } from './launcher.js';
import { ephemeralCredentials } from './sip-register.js';

/** The launcher's children, by the names it gives them. */
export const CHAOS_SERVICES = ['kamailio', 'rtpengine', 'sip', 'signaling', 'redis'] as const;
export type ChaosService = (typeof CHAOS_SERVICES)[number];

/** What one SIGKILL of a service did, measured from the kill. */
export interface KillResult {
  service: ChaosService;
  /** Seconds since the run began. */
  atS: number;
  pid: number;
  newPid?: number;
  /** Until the launcher said it started the service again. */
  restartedMs?: number;
  /** Until the service answered its health check (the launcher's own check for it) again. */
  healthyMs?: number;
  /** Why it did not come back, when it did not. */
  error?: string;
}

export class LaunchedStack {
  readonly edge: SipEdge;

  private constructor(
    readonly run: LauncherRun,
    readonly config: LaunchConfig,
    private readonly tmp: string,
    /** Each service's health check, the launcher's own (scripts/src/services.ts). */
    private readonly checks: Map<string, () => Promise<boolean>>,
    readonly redisUrl: string,
    readonly secret: string,
  ) {
    const wsUrl = `ws://127.0.0.1:${config.sip.wsPort}`;
    this.edge = {
      wsUrl,
      domain: config.sip.domain,
      // As signaling issues them to a workstation's holder: signed with the secret, recorded in Redis.
      browserCredentials: async (sipUser, expiresAt = Math.floor(Date.now() / 1000) + 3600) => {
        const credentials = ephemeralCredentials(secret, sipUser, expiresAt);
        const redis = this.redis();
        try {
          await redis
            .multi()
            .sadd(RedisKeys.sipAuth(sipUser), credentials.username)
            .expire(RedisKeys.sipAuth(sipUser), 7200)
            .exec();
        } finally {
          redis.disconnect();
        }
        return credentials;
      },
    };
  }

  /**
   * Starts the launcher with every port free and picked here, media on `rtpPorts` ports of a random
   * range, and `env` on top (settings any `npm start` user could give); resolves once it is ready.
   */
  static async start(
    options: { env?: Record<string, string>; rtpPorts?: number; readyTimeoutMs?: number } = {},
  ): Promise<LaunchedStack> {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'deskline-chaos-'));
    const ports = await launcherPorts();
    const size = options.rtpPorts ?? 400;
    const mediaMin = 40000 + 2 * Math.floor(Math.random() * ((20000 - size) / 2));
    const env = launcherEnv(ports, path.join(tmp, 'var'), {
      RTPENGINE_PORT_MIN: String(mediaMin),
      RTPENGINE_PORT_MAX: String(mediaMin + size - 1),
      ...options.env,
    });
    delete env['REDIS_PASSWORD'];
    const run = new LauncherRun(env);
    try {
      await run.waitForOutput(LAUNCHER_READY, options.readyTimeoutMs ?? 90_000);
    } catch (err) {
      run.killAll();
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    const config = readLaunchConfig(env);
    const checks = new Map(serviceDefinitions(config).map((s) => [s.name, () => s.healthy().catch(() => false)]));
    return new LaunchedStack(run, config, tmp, checks, redisUrl(config), sipEphemeralSecret(env, config.varDir));
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.config.port}`;
  }

  /** A Redis client of the launcher's Redis, reconnecting by itself across a restart of it. */
  redis(): Redis {
    const redis = new Redis(this.redisUrl, { maxRetriesPerRequest: 3, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    return redis;
  }

  /** The demo manager's login, from the file the launcher wrote on its first start. */
  managerLogin(): { email: string; password: string } {
    const manager = demoLogins(this.config.varDir).find((l) => l.role === 'manager');
    if (!manager) throw new Error('no manager in demo-logins.txt');
    return { email: manager.email, password: manager.password };
  }

  /** The pid the launcher last reported for `service` (restarts included). */
  pid(service: string): number | undefined {
    return this.run.childPids().get(service);
  }

  healthy(service: string): Promise<boolean> {
    return this.checks.get(service)?.() ?? Promise.resolve(false);
  }

  /**
   * kill -9 of the service's process group (a Kamailio's workers with it, as a crashed container
   * loses every process), then waits up to `timeoutMs` for the launcher to start it again and for it
   * to pass its health check.
   */
  async kill(service: ChaosService, runStart: number, timeoutMs = 60_000): Promise<KillResult> {
    const pid = this.pid(service);
    const result: KillResult = { service, atS: (Date.now() - runStart) / 1000, pid: pid ?? 0 };
    if (pid === undefined || !this.run.running) return { ...result, error: 'the launcher was not running it' };
    const killedAt = Date.now();
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
    const deadline = killedAt + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.run.running)
        return { ...result, error: `the launcher exited after the kill: ${lastLauncherLines(this.run.output)}` };
      const now = this.pid(service);
      if (now !== undefined && now !== pid) {
        result.newPid = now;
        result.restartedMs ??= Date.now() - killedAt;
        if (await this.healthy(service)) return { ...result, healthyMs: Date.now() - killedAt };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { ...result, error: `not ${result.newPid ? 'healthy' : 'started again'} within ${timeoutMs / 1000} s` };
  }

  /** Writes everything the launcher and its children printed into a file in the temp folder; returns its path. */
  saveOutput(name: string): string {
    const file = path.join(os.tmpdir(), `deskline-${name}-launcher.log`);
    writeFileSync(file, this.run.output);
    return file;
  }

  /** Stops the launcher as Ctrl-C does (killing whatever is left after 30 s), and removes its data. */
  async stop(): Promise<void> {
    if (this.run.running) {
      this.run.signal('SIGINT');
      await this.run.waitForExit(30_000).catch(() => undefined);
    }
    this.run.killAll();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** The launcher's messages of the last moments, to say why it stopped. */
function lastLauncherLines(output: string): string {
  return output
    .split('\n')
    .filter((line) => /^launcher +\| [a-z]/.test(line))
    .slice(-4)
    .join(' / ');
}
