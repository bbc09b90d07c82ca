/**
 * Push fan-out (issue 14): how long a call event of the sip app takes to reach the LAST of many push
 * sockets, and what signaling spends on it. Starts a redis-server and the compiled signaling server
 * as its own process (the tests' helpers, loaded from tests/dist at run time), creates `--sockets`
 * users, logs each in over HTTP and opens one push socket per session, as a panel does. Then it
 * writes call events at `--rate` per second with the sip app's own CallStore (the same MULTI and
 * stream entry the sip app writes: intro, waiting, abandoned, each carrying its time), and measures
 * from just before each write to the moment the last socket received that call's `call` event.
 *
 *   npm run build && npm run bench:push-fanout -- [--sockets 200] [--rate 10] [--seconds 60] [--warmup 5]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SESSION_COOKIE, type CallState, type CallView, type PushEvent, type Role } from '@deskline/protocol';
import { CLINIC_NUMBER, CLOCK_TICKS, groupUsage, load, onStop, stopAll, until } from './stack.js';

type RedisHelpers = typeof import('../tests/helpers/redis.js');
type SignalingHelpers = typeof import('../tests/helpers/signaling.js');
type ProcessHelpers = typeof import('../tests/helpers/signaling-process.js');
type LatencyHelpers = typeof import('../tests/helpers/fanout-latency.js');
type CallStoreModule = typeof import('../sip/src/calls/call-store.js');

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
  },
});
const sockets = Number(values.sockets);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
/** Logins and socket openings at once: argon2 runs on 4 threads; more would only queue. */
const PARALLEL = 4;
/** Each call goes through these, one event each: nobody answers, the patient hangs up. */
const STATES: readonly CallState[] = ['intro', 'waiting', 'abandoned'];
/** One user in ten is a manager: a manager sees every task, an employee only those it may (taskVisibleTo). */
const roleOf = (index: number): Role => (index % 10 === 0 ? 'manager' : 'employee');
const PASSWORD = 'bench fan-out passphrase';

const clockMs = (): number => performance.timeOrigin + performance.now();

/** Runs `work` for 0 … count-1, `PARALLEL` at a time. */
async function inParallel(count: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

const [{ startTestRedis }, { buildTestApp, createUser }, { startSignalingProcess }, { FanoutClock }, { CallStore }] =
  await Promise.all([
    load<RedisHelpers>('helpers/redis.js'),
    load<SignalingHelpers>('helpers/signaling.js'),
    load<ProcessHelpers>('helpers/signaling-process.js'),
    load<LatencyHelpers>('helpers/fanout-latency.js'),
    import(new URL('../../sip/dist/calls/call-store.js', import.meta.url).href) as Promise<CallStoreModule>,
  ]);

try {
  const loadBefore = os.loadavg();
  const redisServer = await startTestRedis();
  onStop(() => redisServer.stop());

  const emails = Array.from({ length: sockets }, (_, i) => `agent${i}@clinic.example`);
  const admin = await buildTestApp(redisServer.url);
  await inParallel(sockets, async (i) => void (await createUser(admin, emails[i]!, roleOf(i), PASSWORD)));
  await admin.close();

  const signaling = await startSignalingProcess({ REDIS_URL: redisServer.url });
  onStop(() => signaling.stop());
  const pid = signaling.process.pid;
  if (pid === undefined) throw new Error('signaling has no pid');

  const cookies: string[] = [];
  await inParallel(sockets, async (i) => {
    const response = await fetch(`${signaling.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: emails[i], password: PASSWORD }),
    });
    const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
    if (response.status !== 200 || !cookie.startsWith(`${SESSION_COOKIE}=`))
      throw new Error(`login of ${emails[i]}: ${response.status}`);
    cookies[i] = cookie;
  });

  const clock = new FanoutClock(sockets);
  /** `<call id>:<state>` → the event's number in the clock. */
  const numbers = new Map<string, number>();
  const open: WebSocket[] = [];
  /** Sockets that closed after their hello: a panel that would have stopped getting events. */
  let dropped = 0;
  onStop(() => open.forEach((socket) => socket.close(1000)));
  await inParallel(sockets, async (i) => {
    // Node's WebSocket (undici) takes the headers a browser would send; the DOM type does not know them.
    const init = { headers: { cookie: cookies[i]!, origin: signaling.url } } as unknown as string[];
    const socket = new WebSocket(`${signaling.url.replace('http', 'ws')}/api/push`, init);
    open.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.onmessage = (message: MessageEvent<string>) => {
        const at = clockMs();
        const event = JSON.parse(message.data) as PushEvent;
        if (event.type === 'hello') resolve();
        if (event.type !== 'call') return;
        const number = numbers.get(`${event.call.id}:${event.call.state}`);
        if (number !== undefined) clock.received(i, number, at);
      };
      socket.onclose = (close) => {
        dropped += 1;
        reject(new Error(`push socket ${i} closed: ${close.code} ${close.reason}`));
      };
    });
  });
  console.log(
    `${sockets} users logged in, ${sockets} push sockets open; writing call events at ${rate}/s for ${warmup} s of warm-up and ${seconds} s`,
  );

  const producer = new Redis(redisServer.url);
  onStop(() => producer.quit());
  const calls = new CallStore(producer);
  const warmupEvents = Math.round(warmup * rate);
  const total = warmupEvents + Math.round(seconds * rate);
  const started = Date.now();
  let usageAtStart = groupUsage(pid);
  let measuredFrom = clockMs();
  let benchCpuAtStart = process.cpuUsage();
  for (let k = 0; k < total; k += 1) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (k * 1000) / rate - Date.now())));
    if (k === warmupEvents) {
      usageAtStart = groupUsage(pid);
      measuredFrom = clockMs();
      benchCpuAtStart = process.cpuUsage();
    }
    const index = Math.floor(k / STATES.length);
    const state = STATES[k % STATES.length]!;
    const at = clockMs();
    const id = `bench-call-${index}`;
    const call: CallView = {
      id,
      from: `+48600${String(100000 + index)}`,
      line: CLINIC_NUMBER,
      state,
      startedAt: Math.round(at) - (k % STATES.length) * 100,
      ...(state !== 'intro' ? { queuedAt: Math.round(at) } : {}),
      ...(state === 'abandoned' ? { endedAt: Math.round(at) } : {}),
    };
    numbers.set(`${id}:${state}`, clock.wrote(at));
    await calls.record(call);
  }
  const measuredMs = clockMs() - measuredFrom;
  const usageAtEnd = groupUsage(pid);
  const benchCpu = process.cpuUsage(benchCpuAtStart);
  await until('every socket to have every event', async () => clock.complete(), 10_000).catch((err: Error) =>
    console.log(err.message),
  );

  const s = clock.summary(warmupEvents);
  const cpu = ((usageAtEnd.ticks - usageAtStart.ticks) * (1000 / CLOCK_TICKS) * 100) / measuredMs;
  const benchShare = ((benchCpu.user + benchCpu.system) / 1000 / measuredMs) * 100;
  const loads = (values: number[]): string => values.map((v) => v.toFixed(2)).join(' ');
  const figures = (p: { p50: number; p95: number; max: number }): string =>
    `p50 ${p.p50.toFixed(1)}  p95 ${p.p95.toFixed(1)}  max ${p.max.toFixed(1)} ms`;
  console.log(
    `write → last of ${sockets} sockets: n ${s.n}  ${figures(s)}  missed ${s.missed}  sockets dropped ${dropped}`,
  );
  console.log(`write → first socket:        ${figures(s.first)}`);
  console.log(
    `signaling: ${cpu.toFixed(1)} % of one core over ${(measuredMs / 1000).toFixed(1)} s, RSS ${(usageAtEnd.rssKb / 1024).toFixed(1)} MiB; the bench itself: ${benchShare.toFixed(1)} %`,
  );
  console.log(`load average before ${loads(loadBefore)}, after ${loads(os.loadavg())} (${os.cpus().length} cores)`);
} finally {
  await stopAll();
}
