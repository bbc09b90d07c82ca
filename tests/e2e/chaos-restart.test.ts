/**
 * Issue 13's chaos test, short: Deskline under the real launcher (`npm start`'s scripts/dist/launch.js
 * on free ports and a throwaway data folder), 12 patients calling over 70 s through Kamailio as a
 * trunk would, 3 browser workstations answering (a Chromium page running JsSIP, and two Node WebRTC
 * agents that reconnect and answer re-INVITEs as JsSIP does), a manager's panel watching the board, and each of Kamailio, rtpengine, the sip app, signaling and
 * Redis killed with SIGKILL once, at moments drawn from the printed seed (CHAOS_SEED=<seed> replays
 * them). The patients' keepalive runs every 10 s (PATIENT_KEEPALIVE_SECONDS, as any `npm start` may
 * set it), so a ghost has 20 s to go before the check.
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
import { chaosFailures, chaosSeed, chaosTables, runChaos } from '../helpers/chaos.js';
import { LaunchedStack } from '../helpers/chaos-stack.js';

const KEEPALIVE_SECONDS = 10;

test('every service killed once under the launcher: no call dropped, none silent over 2 s, no ghost, the board right', async () => {
  const seed = chaosSeed();
  console.log(`chaos seed ${seed}`);
  const stack = await LaunchedStack.start({ env: { PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) }, rtpPorts: 200 });
  try {
    const report = await runChaos(stack, {
      seed,
      calls: 12,
      arrivalsMs: 70_000,
      killsMs: 100_000,
      rounds: 1,
      agents: 3,
      chromiumAgents: 1,
      patienceMs: [20_000, 45_000],
      talkMs: [8_000, 25_000],
      settleMs: (KEEPALIVE_SECONDS + 10) * 1000,
    });
    console.log(chaosTables(report));
    const failures = chaosFailures(report);
    assert.equal(failures, [], `seed ${seed}: ${failures.length} failures:\n  ${failures.join('\n  ')}`);
  } finally {
    console.log(`the launcher's output: ${stack.saveOutput(`chaos-${seed}`)}`);
    await stack.stop();
  }
});

test.run();
