/**
 * The chaos run's plan and verdict (tests/helpers/chaos.ts): a seed must replay the same moments, each
 * service must be killed as often as asked and in turn, and the verdict must fail on each of issue 13's
 * criteria (a silence over 2 s, a drop, a ghost, a board that disagrees) and on nothing else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chaosFailures,
  chaosPlan,
  MAX_SILENCE_MS,
  type CallResult,
  type ChaosOptions,
  type ChaosReport,
} from '../../helpers/chaos.js';

const options = (seed: number): ChaosOptions => ({
  seed,
  calls: 50,
  arrivalsMs: 240_000,
  killsMs: 300_000,
  rounds: 2,
  agents: 6,
  patienceMs: [30_000, 90_000],
  talkMs: [15_000, 45_000],
  settleMs: 40_000,
});

test('a seed replays the same calls and kills; another seed gives other moments', () => {
  assert.equal(chaosPlan(options(42)), chaosPlan(options(42)));
  assert.not.equal(chaosPlan(options(42)).kills, chaosPlan(options(43)).kills);
  assert.not.equal(chaosPlan(options(42)).calls, chaosPlan(options(43)).calls);
});

test('each service is killed `rounds` times, in turn, each in the first 60 % of its own slot after the first tenth', () => {
  const { kills } = chaosPlan(options(7));
  assert.equal(
    kills.map((k) => k.service),
    ['kamailio', 'rtpengine', 'sip', 'signaling', 'redis', 'kamailio', 'rtpengine', 'sip', 'signaling', 'redis'],
  );
  const slot = (300_000 * 0.9) / 10;
  kills.forEach((k, i) => {
    const start = 30_000 + i * slot;
    assert.ok(k.atMs >= start && k.atMs <= start + slot * 0.6, `kill ${i} at ${k.atMs} ms, slot from ${start}`);
  });
});

test('calls come within the arrival window, each from a number of its own, with patience and talk in their ranges', () => {
  const { calls } = chaosPlan(options(9));
  assert.is(calls.length, 50);
  assert.is(new Set(calls.map((c) => c.number)).size, 50);
  for (const c of calls) {
    assert.ok(c.atMs >= 0 && c.atMs <= 240_000);
    assert.ok(c.patienceMs >= 30_000 && c.patienceMs <= 90_000);
    assert.ok(c.talkMs >= 15_000 && c.talkMs <= 45_000);
  }
  assert.equal(
    calls.map((c) => c.atMs),
    [...calls.map((c) => c.atMs)].sort((a, b) => a - b),
    'in order of arrival',
  );
});

const call = (over: Partial<CallResult> = {}): CallResult => ({
  number: '+49170',
  atMs: 0,
  bridged: true,
  byeProblems: [],
  patientSilenceMs: 130,
  agentSilenceMs: 40,
  ...over,
});
const report = (over: Partial<ChaosReport> = {}): ChaosReport => ({
  seed: 1,
  calls: [call()],
  kills: [{ service: 'rtpengine', atS: 36.6, pid: 1, newPid: 2, restartedMs: 150, healthyMs: 160 }],
  board: [{ atS: 30, differences: [] }],
  ghostRings: [],
  ghosts: [],
  boardReconnects: 0,
  agentReconnects: 0,
  agentRegisterFailures: [],
  durationS: 100,
  ...over,
});

test('the verdict: clean runs pass, and a refused call is not a failure', () => {
  assert.equal(chaosFailures(report()), []);
  assert.equal(
    chaosFailures(
      report({
        calls: [call(), { number: '+49171', atMs: 5, bridged: false, byeProblems: [], refused: 'SIP/2.0 503' }],
      }),
    ),
    [],
  );
  assert.equal(
    chaosFailures(report({ calls: [call({ patientSilenceMs: MAX_SILENCE_MS, agentSilenceMs: MAX_SILENCE_MS })] })),
    [],
    'exactly 2 s is within the bar',
  );
  assert.equal(
    chaosFailures(report({ calls: [call({ notes: ["patient's BYE answered 503"] })] })),
    [],
    'a BYE answered 503 whose call ended all the same',
  );
});

test('the verdict fails on a long silence (naming the kill before it), a drop, a BYE problem, a ghost, a ghost ring, the board, a service not back', () => {
  const silent = chaosFailures(report({ calls: [call({ agentSilenceMs: 2100, agentSilenceFromS: 36.7 })] }));
  assert.equal(silent, ['+49170: 2.1 s of silence at the agent from 36.7 s, rtpengine killed at 36.6 s']);
  assert.is(chaosFailures(report({ calls: [call({ dropped: 'at the patient, 41.7 s' })] })).length, 1);
  assert.is(
    chaosFailures(report({ calls: [call({ byeProblems: ["the patient's BYE did not reach the agent within 5 s"] })] }))
      .length,
    1,
  );
  assert.is(chaosFailures(report({ ghosts: ['x from +49170 (waiting)'] })).length, 1);
  assert.is(chaosFailures(report({ ghostRings: ['agent 0 rung for +49170'] })).length, 1);
  assert.is(
    chaosFailures(report({ board: [{ atS: 50, differences: ['+49170 is bridged but not on the board'] }] })).length,
    1,
  );
  assert.is(
    chaosFailures(report({ kills: [{ service: 'sip', atS: 60, pid: 1, error: 'not started again within 60 s' }] }))
      .length,
    1,
  );
});

test.run();
