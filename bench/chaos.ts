/**
 * Issue 13's chaos run, in full: Deskline under the real launcher (`npm start`'s scripts/dist/launch.js,
 * on free ports and a throwaway data folder), 50 patients calling over 4 minutes, 6 browser
 * workstations answering (one a Chromium page running JsSIP, the others Node WebRTC agents), a manager's board watching, and Kamailio, rtpengine,
 * the sip app, signaling and Redis each killed with SIGKILL twice, in turn, at random moments of the
 * 5 minutes. The harness and what it measures: tests/helpers/chaos.ts. `--short` is the short run
 * of `npm test` (tests/e2e/chaos-restart.test.ts: 12 calls, each service killed once). Prints a table per kill and per call, and a summary.
 *
 *   npm run build && npm run bench:chaos -- [--calls 50] [--minutes 5] [--agents 6] [--chromium 1] [--rounds 2] [--json <file>] [--short]
 *
 * CHAOS_SEED=<n> replays a run's moments (the seed is printed first). Exit code 1 when a criterion
 * of the issue failed (each failure is listed), 2 when the harness itself failed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { load, root } from './stack.js';

type ChaosModule = typeof import('../tests/helpers/chaos.js');
type ChaosStackModule = typeof import('../tests/helpers/chaos-stack.js');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '50' },
    minutes: { type: 'string', default: '5' },
    agents: { type: 'string', default: '6' },
    chromium: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
    // The short run of `npm test` (tests/helpers/chaos.ts, shortChaos), to replay one of its seeds.
    short: { type: 'boolean', default: false },
  },
});

if (
  !existsSync(path.join(root, 'tests/dist/helpers/chaos.js')) ||
  !existsSync(path.join(root, 'scripts/dist/launch.js'))
) {
  console.error('bench:chaos needs the compiled launcher and test helpers: run `npm run build` first.');
  process.exit(2);
}
const [{ SHORT_STACK, chaosFailures, chaosSeed, chaosTables, runChaos, shortChaos }, { LaunchedStack }] =
  await Promise.all([load<ChaosModule>('helpers/chaos.js'), load<ChaosStackModule>('helpers/chaos-stack.js')]);

const totalMs = Number(values.minutes) * 60_000;
const seed = chaosSeed();
console.log(`bench:chaos seed ${seed}${values.short ? ' (short run)' : ''}`);
const stack = await LaunchedStack.start(values.short ? SHORT_STACK : { rtpPorts: 600 });
const stopping = (): void => void stack.stop().finally(() => process.exit(130));
process.once('SIGINT', stopping);
process.once('SIGTERM', stopping);
let code = 0;
try {
  const report = await runChaos(
    stack,
    values.short
      ? shortChaos(seed)
      : {
          seed,
          calls: Number(values.calls),
          // The last patients call at 4/5 of the time and stay up to 90 s.
          arrivalsMs: totalMs * 0.8,
          killsMs: totalMs,
          rounds: Number(values.rounds),
          agents: Number(values.agents),
          chromiumAgents: Number(values.chromium),
          patienceMs: [30_000, 90_000],
          talkMs: [15_000, 45_000],
          // The launcher's PATIENT_KEEPALIVE_SECONDS (30) + 10 s.
          settleMs: 40_000,
        },
  );
  console.log(`\n${chaosTables(report)}\n`);
  const failures = chaosFailures(report);
  console.log(
    failures.length
      ? `${failures.length} failures:\n  ${failures.join('\n  ')}`
      : 'no failure: every criterion of issue 13 held',
  );
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (failures.length) code = 1;
} catch (err) {
  console.error(err);
  code = 2;
} finally {
  console.log(`the launcher's output: ${stack.saveOutput(`chaos-${seed}`)}`);
  await stack.stop();
}
process.exit(code);
