import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@deskline/scripts/free-port';
import { ManagedProcess, lastLines, type ExitStatus } from '@deskline/scripts/managed-process';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../sip/dist/main.js');

/** One pino line of the sip app, parsed. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface RunningSipApp {
  process: ManagedProcess;
  /** Every JSON log line so far. */
  readonly logs: readonly LogLine[];
  /**
   * Resolves with the first matching line from index `from` of `logs` on (0: every line so far), or
   * the first one still to come. Pass `logs.length` taken before an action to see only its lines.
   */
  waitForLog(
    what: string,
    match: (line: LogLine) => boolean,
    options?: { from?: number; timeoutMs?: number },
  ): Promise<LogLine>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<ExitStatus>;
}

/** The instance id an app logged at start (its Redis connection is `sip-app:<id>`, and `owner` of its calls). */
export function instanceIdOf(app: RunningSipApp): string {
  const id = app.logs.find((line) => line.msg === 'sip app started')?.['instanceId'];
  if (typeof id !== 'string') throw new Error('the sip app logged no instanceId');
  return id;
}

export interface SipAppOptions {
  /** The sip app's environment (REDIS_URL, SIP_PORT, …), on top of PATH. */
  env: Record<string, string>;
  /** What "started" means: connected to Kamailio (the default), or Kamailio also answered our OPTIONS. */
  readyWhen?: 'connected' | 'options-answered';
  /** Receives every line. (SIP_APP_LOG=1 in the tests' environment prints them all.) */
  onLine?: (line: string) => void;
}

/** Runs `node sip/dist/main.js` as the launcher will, and waits until it has reached Kamailio. */
export async function startSipApp(options: SipAppOptions): Promise<RunningSipApp> {
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  const proc = ManagedProcess.start({
    name: 'sip',
    command: process.execPath,
    args: [MAIN],
    env: {
      PATH: process.env['PATH'] ?? '',
      LOG_LEVEL: 'info',
      SIP_APP_HEALTH_PORT: String(await freePort()),
      ...options.env,
    },
    onLine: (text) => {
      options.onLine?.(text);
      if (process.env['SIP_APP_LOG']) process.stderr.write(`sip | ${text}\n`);
      const line = parse(text);
      if (!line) return;
      logs.push(line);
      for (const waiter of waiters) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    },
  });

  const waitForLog = (
    what: string,
    match: (line: LogLine) => boolean,
    { from = 0, timeoutMs = 5_000 }: { from?: number; timeoutMs?: number } = {},
  ): Promise<LogLine> => {
    const seen = logs.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`sip app: timed out after ${timeoutMs} ms waiting for ${what}.${lastLines(proc)}`));
      }, timeoutMs);
      waiters.add(waiter);
      void proc.exited.then((status) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(`sip app exited (${status.signal ?? status.code}) while waiting for ${what}.${lastLines(proc)}`),
        );
      });
    });
  };

  const ready =
    options.readyWhen === 'options-answered'
      ? (line: LogLine) => line.msg === 'Kamailio answered our OPTIONS'
      : (line: LogLine) => line.msg === 'connected to Kamailio';
  try {
    await waitForLog('the connection to Kamailio', ready, { timeoutMs: 10_000 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, logs, waitForLog, stop: () => proc.stop(12_000) };
}

function parse(text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || !('msg' in value) || !('level' in value)) return undefined;
    return value as LogLine;
  } catch {
    return undefined;
  }
}
