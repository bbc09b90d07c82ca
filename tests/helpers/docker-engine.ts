/**
 * A Docker engine for the deployment tests (tests/deploy): the one already running, if one answers,
 * or else a dockerd of the test's own, stopped again at the end.
 *
 * The own engine (measured on this machine kind: ../shared/ARCHITECTURE.md, "Docker on this machine
 * kind") runs with --bridge=none --iptables=false, so it adds no network and changes no firewall
 * rule: the stack uses the host's network, and builds do too (`build: network: host`). Its socket,
 * exec root and pid file are in a temporary directory; its data root is a cache directory outside
 * the repository, DESKLINE_TEST_CACHE (default /var/cache/deskline-tests), so that the base-image
 * stand-ins and BuildKit's build cache outlive the run and the next run is warm. The test removes
 * what its stack made (containers, volumes, images); the cache keeps only layers.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess, lastLines } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';

const run = promisify(execFile);

export const TEST_CACHE = process.env['DESKLINE_TEST_CACHE'] ?? '/var/cache/deskline-tests';

export interface DockerEngine {
  /** DOCKER_HOST for the clients (docker, docker-compose). */
  host: string;
  /** Whether this test started the engine (and stops it). */
  startedHere: boolean;
  /** The environment for docker and docker-compose: DOCKER_HOST and BuildKit. */
  env: NodeJS.ProcessEnv;
  /** Runs the docker client; rejects with its output when it fails. */
  docker(args: readonly string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * The clients' environment. BuildKit (DOCKER_BUILDKIT, and COMPOSE_DOCKER_CLI_BUILD so that
 * docker-compose 1.29 builds through the docker client) keeps its build cache apart from the images,
 * so removing the stack's images at the end of a run leaves the next run's builds cached.
 */
function clientEnv(host: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '1', COMPOSE_DOCKER_CLI_BUILD: '1' };
}

async function answers(host: string): Promise<boolean> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], { env: clientEnv(host), timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function engine(host: string, startedHere: boolean, stop: () => Promise<void>): DockerEngine {
  const env = clientEnv(host);
  return {
    host,
    startedHere,
    env,
    async docker(args, options = {}) {
      try {
        return await run('docker', [...args], {
          env,
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 64 * 1024 * 1024,
        });
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        throw new Error(`docker ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
      }
    },
    stop,
  };
}

/**
 * One engine per data root: a second test run on this machine (another checkout's `npm test`) fails
 * at once, naming the run that holds it, instead of two daemons writing the same data root. A lock
 * whose process is gone (a run that was killed) is taken over.
 */
function lockDataRoot(lock: string): () => void {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      process.kill(holder, 0);
      alive = holder !== process.pid;
    } catch {
      // gone
    }
    if (alive)
      throw new Error(`another engine test (pid ${holder}) uses ${lock.replace(/\.lock$/, '')}; run one at a time`);
    writeFileSync(lock, String(process.pid));
  }
  return () => rmSync(lock, { force: true });
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return mounts.sort((a, b) => b.length - a.length);
}

/** The running engine (DOCKER_HOST, or the system's socket) if it answers, else a new dockerd. */
export async function useDockerEngine(): Promise<DockerEngine> {
  const existing =
    process.env['DOCKER_HOST'] ?? (existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined);
  if (existing && (await answers(existing))) return engine(existing, false, async () => undefined);

  const dataRoot = path.join(TEST_CACHE, 'docker-engine');
  mkdirSync(dataRoot, { recursive: true });
  const releaseLock = lockDataRoot(`${dataRoot}.lock`);
  // A short path: containerd's sockets live under the exec root, and a unix socket's path has a limit.
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'deskline-dockerd-'));
  const socket = path.join(runDir, 'docker.sock');
  const host = `unix://${socket}`;
  const dockerd = killOnExit(
    ManagedProcess.start({
      name: 'dockerd',
      command: 'dockerd',
      installHint: 'apt-get install docker.io (bash scripts/bootstrap.sh test)',
      env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
      args: [
        `--data-root=${dataRoot}`,
        `--exec-root=${path.join(runDir, 'exec')}`,
        `--pidfile=${path.join(runDir, 'docker.pid')}`,
        `--host=${host}`,
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
      ],
    }),
  );
  const stop = async (): Promise<void> => {
    // dockerd stops its containers and its containerd on SIGTERM; give them the time they need.
    await dockerd.stop(60_000);
    // It leaves its default network namespace mounted in the exec root.
    for (const mount of mountsUnder(runDir)) await run('umount', ['-l', mount]).catch(() => undefined);
    rmSync(runDir, { recursive: true, force: true });
    releaseLock();
  };
  const deadline = Date.now() + 60_000;
  while (!(await answers(host))) {
    if (!dockerd.running) {
      await stop();
      throw new Error(`dockerd exited during start.${lastLines(dockerd)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not answer within 60 s.${lastLines(dockerd)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return engine(host, true, stop);
}
