/**
 * The call board's push latency under a burst of calls (issue 5: "each stage appears in another
 * user's panel within 1 s"). Starts its own stack on free ports on 127.0.0.1 with the tests' helpers
 * (tests/dist/helpers, loaded at run time): Redis, rtpengine, Kamailio, the sip app (SKIP_INTRO) and
 * signaling in this process with its task projector. A manager's push socket watches the board while
 * `--calls` patients call from distinct numbers, `--rate` per second, nobody answers, and each hangs
 * up after `--wait` seconds: every call goes through intro, waiting and abandoned.
 *
 * Latency of a stage = when the manager's socket received the `task` event showing the call in that
 * state, minus the time of the sip app's call event (its stream entry id, Redis's clock on this machine).
 *
 *   npm run build && node bench/dist/board-latency.js --calls 60 --rate 10 --wait 2
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { type CallEvent, type PushEvent } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { CLINIC_NUMBER, load, onStop, percentiles, stopAll, until } from './stack.js';

type CallPathModule = typeof import('../tests/helpers/call-path.js');
type SignalingModule = typeof import('../tests/helpers/signaling.js');
type PushModule = typeof import('../tests/helpers/push-events.js');
type PatientLineModule = typeof import('../tests/helpers/patient-line.js');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '60' },
    rate: { type: 'string', default: '10' },
    wait: { type: 'string', default: '2' },
  },
});
const calls = Number(values.calls);
const rate = Number(values.rate);
const waitSeconds = Number(values.wait);

const [{ startCallPath }, { buildTestApp, createUser, loginOk }, { PushEvents }, { PatientLine }] = await Promise.all([
  load<CallPathModule>('helpers/call-path.js'),
  load<SignalingModule>('helpers/signaling.js'),
  load<PushModule>('helpers/push-events.js'),
  load<PatientLineModule>('helpers/patient-line.js'),
]);

try {
  const path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: '3600' } });
  onStop(() => path.stop());
  const app = await buildTestApp(path.redisUrl, { SIP_DOMAIN: path.kamailio.domain });
  onStop(() => app.close());
  await app.ready();
  const password = 'bench manager passphrase';
  await createUser(app, 'maria@clinic.example', 'manager', password);
  const push = await PushEvents.open(app, await loginOk(app, 'maria@clinic.example', password));
  onStop(() => push.close());

  // When each call event was written: the stream entry id's milliseconds.
  const written = new Map<string, number>();
  const reader = new Redis(path.redisUrl);
  onStop(() => reader.quit());
  let lastId = '$';
  let reading = true;
  const tail = (async () => {
    while (reading) {
      const reply = await reader.xread('BLOCK', 500, 'STREAMS', RedisStreams.callEvents, lastId).catch(() => null);
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const event = JSON.parse(fields[fields.indexOf('event') + 1] ?? '{}') as CallEvent;
          const key = `${event.call.id}:${event.call.state}`;
          if (!written.has(key)) written.set(key, Number(id.split('-')[0]));
        }
      }
    }
  })();
  onStop(async () => {
    reading = false;
    await tail;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));

  const line = await PatientLine.open(path.kamailioPort);
  onStop(() => line.close());
  const started = Date.now();
  const dialogs: Array<Promise<void>> = [];
  const refused: string[] = [];
  for (let i = 0; i < calls; i += 1) {
    const due = started + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    const from = `+48600${String(100000 + i)}`;
    dialogs.push(
      (async () => {
        try {
          const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: 41000 + 2 * i, from, timeoutMs: 10_000 });
          await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
          await dialog.hangUp(10_000);
        } catch (err) {
          refused.push(`${from}: ${(err as Error).message}`);
        }
      })(),
    );
  }
  await Promise.all(dialogs);
  if (refused.length > 0)
    throw new Error(
      `${refused.length} of ${calls} calls failed, e.g. ${refused[0]} (see "rate × wait" in bench/README.md)`,
    );
  const unanswered = (event: PushEvent): boolean => event.type === 'task' && event.task.status === 'unanswered';
  await until(
    'every task unanswered on the board',
    async () =>
      new Set(
        push.seen
          .filter((s) => unanswered(s.event))
          .map((s) => (s.event as Extract<PushEvent, { type: 'task' }>).task.id),
      ).size >= calls,
    30_000,
  );
  reading = false;
  await tail;

  const shown = new Map<string, number>();
  for (const { event, at } of push.seen) {
    if (event.type !== 'task' || !event.task.call) continue;
    const key = `${event.task.call.id}:${event.task.call.state}`;
    if (!shown.has(key)) shown.set(key, at);
  }
  const byStage = new Map<string, number[]>();
  let missing = 0;
  for (const [key, at] of written) {
    const seen = shown.get(key);
    const stage = key.slice(key.lastIndexOf(':') + 1);
    if (seen === undefined) {
      missing += 1;
      continue;
    }
    byStage.set(stage, [...(byStage.get(stage) ?? []), seen - at]);
  }
  console.log(
    `${calls} calls at ${rate}/s, each hanging up after ${waitSeconds} s; ${written.size} call events, ${missing} never shown as such (a later state overtook them)`,
  );
  for (const [stage, samples] of byStage) console.log(`${stage.padEnd(10)} ${percentiles(samples)}`);
  console.log(`${'all'.padEnd(10)} ${percentiles([...byStage.values()].flat())}`);
} finally {
  await stopAll();
}
