/**
 * Issue 13's chaos test, short: Deskline under the real launcher (`npm start`'s scripts/dist/launch.js
 * on free ports and a throwaway data folder), 12 patients calling over 70 s through Kamailio as a
 * trunk would, 3 browser workstations answering (a Chromium page running JsSIP, and two Node WebRTC
 * agents that reconnect and answer re-INVITEs as JsSIP does), a manager's panel watching the board,
 * and each of Kamailio, rtpengine, the sip app, signaling and Redis killed with SIGKILL once, at
 * moments drawn from the printed seed (CHAOS_SEED=<seed> replays them, here or with
 * `npm run bench:chaos -- --short`). The patients' keepalive runs every 10 s (shortChaos).
 *
 * It fails, naming each, on: a service the launcher did not bring back healthy within 60 s; a call
 * silent over 2 s at its patient or its agent; a BYE that neither side asked for; a hang-up that did
 * not reach the other side; a call left in Redis once every patient has hung up; an agent rung for a
 * patient gone; the manager's board not showing the calls that are up (5 s allowed). The full run
 * (50 calls over 5 minutes, each service killed twice) is `npm run bench:chaos`, figures in
 * bench/README.md.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SHORT_STACK,
  chaosFailures,
  chaosSeed,
  chaosTables,
  failedCallLines,
  runChaos,
  shortChaos,
} from '../helpers/chaos.js';
import { LaunchedStack } from '../helpers/chaos-stack.js';

test('every service killed once under the launcher: no call dropped, none silent over 2 s, no ghost, the board right', async () => {
  const seed = chaosSeed();
  console.log(`chaos seed ${seed}`);
  const stack = await LaunchedStack.start(SHORT_STACK);
  try {
    const report = await runChaos(stack, shortChaos(seed));
    console.log(chaosTables(report));
    const failures = chaosFailures(report);
    if (failures.length > 0)
      console.log(`the sip app's lines about the failed calls:\n${failedCallLines(report, stack.run.output)}`);
    assert.equal(failures, [], `seed ${seed}: ${failures.length} failures:\n  ${failures.join('\n  ')}`);
  } finally {
    console.log(`the launcher's output: ${stack.saveOutput(`chaos-${seed}`)}`);
    await stack.stop();
  }
});

test.run();
