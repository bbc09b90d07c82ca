/**
 * The launcher's restart of a crashed service (scripts/src/service-runner.ts), with fake processes and
 * a fake clock: the waits, their reset, the states, and a stop during a wait. The real processes are
 * in tests/integration/scripts/launch-restart.test.ts.
 */
import { setImmediate } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExitStatus, WatchedProcess } from '@deskline/scripts/managed-process';
import {
  RESTART_POLICY,
  RestartBackoff,
  SERVICE_TRANSITIONS,
  ServiceRunner,
  canTransition,
  type RunnerContext,
  type ServiceState,
} from '@deskline/scripts/service-runner';

class FakeProcess implements WatchedProcess {
  readonly recentLines: string[] = [];
  running = true;
  groupKilled = false;
  readonly exited: Promise<ExitStatus>;
  readonly died: Promise<ExitStatus>;
  private resolveExit: (status: ExitStatus) => void = () => undefined;

  constructor(
    readonly name: string,
    readonly pid: number,
  ) {
    this.died = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    this.exited = this.died;
  }

  /** kill -9 from outside. */
  crash(lastLine = 'segfault'): void {
    this.recentLines.push(lastLine);
    this.exit({ code: null, signal: 'SIGKILL' });
  }

  exit(status: ExitStatus): void {
    this.running = false;
    this.resolveExit(status);
  }

  stop(): Promise<ExitStatus> {
    if (this.running) this.exit({ code: null, signal: 'SIGTERM' });
    return this.exited;
  }

  killNow(): void {
    this.exit({ code: null, signal: 'SIGKILL' });
  }

  killGroup(): void {
    this.groupKilled = true;
  }

  groupGone(): boolean {
    return this.groupKilled;
  }
}

/** Time stands still until advance(); sleeps end in order of their end. */
class FakeClock {
  time = 0;
  private timers: { at: number; resolve: () => void }[] = [];

  readonly now = (): number => this.time;

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const timer = { at: this.time + ms, resolve };
      this.timers.push(timer);
      signal.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          resolve();
        },
        { once: true },
      );
    });

  /** The end of the sleep that ends next, relative to now; undefined when nothing sleeps. */
  get nextIn(): number | undefined {
    const at = Math.min(...this.timers.map((t) => t.at));
    return Number.isFinite(at) ? at - this.time : undefined;
  }

  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].sort((a, b) => a.at - b.at)[0];
      if (!next || next.at > until) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.resolve();
    }
    this.time = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await setImmediate();
}

function harness(options: { healthy?: () => boolean } = {}) {
  const clock = new FakeClock();
  const spawned: FakeProcess[] = [];
  const said: string[] = [];
  const context: RunnerContext = {
    spawn: (spec) => {
      const proc = new FakeProcess(spec.name, 1000 + spawned.length);
      spawned.push(proc);
      said.push(`started ${spec.name} (pid ${proc.pid})`);
      return proc;
    },
    say: (message) => said.push(message),
    now: clock.now,
    sleep: clock.sleep,
  };
  const healthy = options.healthy ?? (() => true);
  const runner = new ServiceRunner(
    {
      name: 'kamailio',
      prepare: () => ({ command: 'kamailio', args: [] }),
      healthy: async () => healthy(),
      startTimeoutMs: 200,
    },
    context,
  );
  const last = (): FakeProcess => {
    const proc = spawned.at(-1);
    if (!proc) throw new Error('nothing was started');
    return proc;
  };
  return { clock, spawned, said, runner, last };
}

test('the waits: 100 ms, doubling to a cap of 30 s, and from 100 ms again after 10 s ready', () => {
  const backoff = new RestartBackoff();
  const crashesBeforeReady = Array.from({ length: 11 }, () => backoff.nextDelay(0));
  assert.equal(crashesBeforeReady, [100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
  assert.is(backoff.nextDelay(RESTART_POLICY.resetAfterMs - 1), 30_000, 'ready for less than 10 s: still capped');
  assert.is(backoff.nextDelay(RESTART_POLICY.resetAfterMs), 100, 'ready for 10 s: the first wait again');
  assert.is(backoff.nextDelay(0), 200);
});

test("only the table's transitions are allowed; a service never goes from running to starting without a crash and a wait", () => {
  const states = Object.keys(SERVICE_TRANSITIONS) as ServiceState[];
  assert.equal(states.sort(), ['backing-off', 'crashed', 'running', 'starting', 'stopped', 'stopping']);
  assert.ok(canTransition('running', 'crashed'));
  assert.ok(canTransition('backing-off', 'stopped'), 'a stop during the wait');
  for (const [from, to] of [
    ['running', 'starting'],
    ['crashed', 'starting'],
    ['stopped', 'running'],
    ['stopping', 'starting'],
    ['backing-off', 'running'],
  ] as const) {
    assert.not.ok(canTransition(from, to), `${from} → ${to}`);
  }
});

test('a crash after the first start: crashed, its group killed, a wait of 100 ms, a new process, running again', async () => {
  const { clock, spawned, said, runner, last } = harness();
  await runner.start();
  assert.is(runner.state, 'running');
  const first = last();
  await clock.advance(3_000);
  first.crash('the last line it wrote');
  await settle();
  assert.is(runner.state, 'backing-off');
  assert.ok(first.groupKilled, 'what was left of its process group is killed before the restart');
  assert.is(clock.nextIn, 100);
  assert.ok(
    said.includes(
      'kamailio crashed (killed by SIGKILL) after 3.0 s ready; restarting it in 0.1 s (crash 1 in a row).\nIts last output:\n  the last line it wrote',
    ),
    said.join('\n'),
  );
  await clock.advance(99);
  assert.is(spawned.length, 1, 'not before the wait is over');
  await clock.advance(1);
  assert.is(spawned.length, 2);
  assert.is(runner.state, 'running');
  assert.is(runner.process, last());
  assert.ok(said.includes('kamailio is ready again (pid 1001, restart 1, down for 0.1 s)'), said.join('\n'));
});

test('a crash loop waits twice as long each time, and starts again from 100 ms once it stayed ready 10 s', async () => {
  const { clock, spawned, runner, last } = harness();
  await runner.start();
  const waits: (number | undefined)[] = [];
  for (let i = 0; i < 4; i++) {
    last().crash();
    await settle();
    waits.push(clock.nextIn);
    await clock.advance(clock.nextIn ?? 0);
  }
  assert.equal(waits, [100, 200, 400, 800]);
  assert.is(spawned.length, 5);
  await clock.advance(10_000);
  last().crash();
  await settle();
  assert.is(clock.nextIn, 100, 'ready for 10 s: back to the first wait');
});

test('a process that exits before it is ready again counts as another crash in a row', async () => {
  let healthy = true;
  const { clock, said, runner, last } = harness({ healthy: () => healthy });
  await runner.start();
  healthy = false;
  last().crash();
  await clock.advance(100);
  assert.is(runner.state, 'starting');
  last().exit({ code: 1, signal: null });
  // waitUntilHealthy polls on real time.
  for (let i = 0; i < 50 && runner.state === 'starting'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await settle();
  assert.is(runner.state, 'backing-off');
  assert.is(clock.nextIn, 200);
  assert.ok(
    said.some((line) =>
      line.startsWith('kamailio crashed (exit code 1) before it was ready; restarting it in 0.2 s (crash 2 in a row).'),
    ),
    said.join('\n'),
  );
  healthy = true;
  await clock.advance(200);
  assert.is(runner.state, 'running');
});

test('a stop during the wait ends it at once: stopped, and nothing is started again', async () => {
  const { clock, spawned, said, runner, last } = harness();
  await runner.start();
  await clock.advance(1_000);
  last().crash();
  await settle();
  assert.is(runner.state, 'backing-off');
  assert.is(await runner.stop(5_000), undefined, 'no process to stop');
  assert.is(runner.state, 'stopped');
  assert.is(said.at(-1), 'not restarting kamailio: stopping');
  await clock.advance(60_000);
  assert.is(spawned.length, 1);
  assert.is(runner.state, 'stopped');
});

test('a stop while a restarted process is not ready yet stops that process, and nothing is started after it', async () => {
  let healthy = true;
  const { clock, spawned, said, runner, last } = harness({ healthy: () => healthy });
  await runner.start();
  healthy = false;
  last().crash();
  await clock.advance(100);
  assert.is(runner.state, 'starting');
  const restarted = last();
  assert.equal(await runner.stop(5_000), { code: null, signal: 'SIGTERM' });
  assert.is(runner.state, 'stopped');
  assert.not.ok(restarted.running);
  assert.is(said.at(-1), 'stopping kamailio');
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await clock.advance(60_000);
  assert.is(spawned.length, 2);
  assert.is(runner.state, 'stopped');
  assert.not.ok(
    said.some((line) => line.includes('crashed (killed by SIGTERM)')),
    'its stop is not taken for a crash',
  );
});

test('a stop of a running service is not a crash: stopping, stopped, no restart', async () => {
  const { clock, spawned, said, runner } = harness();
  await runner.start();
  assert.equal(await runner.stop(5_000), { code: null, signal: 'SIGTERM' });
  assert.is(runner.state, 'stopped');
  assert.is(said.at(-1), 'stopping kamailio');
  await clock.advance(60_000);
  assert.is(spawned.length, 1);
  assert.not.ok(said.some((line) => line.includes('crashed')));
});

test('the first start fails fast: an exit during it rejects, and nothing is restarted', async () => {
  const { clock, spawned, said, runner, last } = harness({ healthy: () => false });
  const started = runner.start();
  last().exit({ code: 1, signal: null });
  const failure = await started.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.instance(failure, Error);
  assert.match((failure as Error).message, /kamailio exited during start \(exit code 1\)/);
  assert.is(runner.state, 'crashed');
  await clock.advance(60_000);
  assert.is(spawned.length, 1);
  const before = said.length;
  await runner.stop(5_000);
  assert.is(runner.state, 'stopped');
  assert.is(said.length, before, 'nothing to say: it never ran, so nothing is "not restarted"');
});

test.run();
