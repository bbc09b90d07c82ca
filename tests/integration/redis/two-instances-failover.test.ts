/**
 * Two sip app instances behind Kamailio, patients waiting on each, and then Redis goes away under
 * them: a Sentinel failover (the master SIGKILLed, twice) or a restart of a lone redis-server with
 * its AOF. The new server lists only the connections that have already come back, one instance a
 * moment before the other: neither may take the other's calls for a dead instance's (issue 12).
 * Every call keeps its owner; each patient hears the music, once (about 50 packets/s, not two
 * streams) and without a gap, gets no BYE; then an agent answers each of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QUEUE_CALL_ID_HEADER } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { startRedisServer, type RunningRedis } from '@deskline/scripts/redis-server';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import {
  HOLD_MUSIC_HZ,
  INTRO_SECONDS,
  deskCallIdOf,
  ownerOf,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { Callers, assertHears, listen, maxGap, type Caller } from '../../helpers/callers.js';
import { startSentinelGroup, type SentinelGroup } from '../../helpers/redis-sentinel.js';
import { header } from '../../helpers/sip-message.js';
import { instanceIdOf } from '../../helpers/sip-app.js';
import { Staff } from '../../helpers/staff.js';
import { waitFor } from '../../helpers/wait.js';

const ADOPTED = 'adopted a call whose sip app instance is gone';
const GONE = 'a sip app instance is gone; taking over its calls';
const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;
/**
 * How long after both instances are back on the new server the test keeps watching for a wrong
 * takeover: the grace (RECONNECT_GRACE_SECONDS, 3) and two watch rounds, with slack.
 */
const WATCH_AFTER_MS = 6_000;
/** The goal for a patient on hold through anything (docs/scaling.md). */
const MAX_SILENCE_MS = 1_000;

interface Waiting extends Caller {
  callId: string;
  owner: string;
}

/** Four patients, answered and waiting with the music; Kamailio spreads them over both instances. */
async function fourWaiting(callPath: CallPath, callers: Callers): Promise<Waiting[]> {
  const patients: Waiting[] = [];
  for (let i = 0; i < 4; i++) {
    const caller = await callers.call();
    const callId = await deskCallIdOf(callPath, caller.dialog.callId);
    await waitFor(
      `call ${callId} waiting`,
      async () => (await readCall(callPath.redis, callId))?.state === 'waiting',
      QUEUED_WITHIN_MS,
    );
    await caller.phone.waitForTone(HOLD_MUSIC_HZ, 3_000);
    patients.push({ ...caller, callId, owner: (await ownerOf(callPath, callId)) ?? '' });
  }
  const ids = [instanceIdOf(callPath.appAt(0)), instanceIdOf(callPath.appAt(1))];
  for (const id of ids)
    assert.ok(
      patients.some((patient) => patient.owner === id),
      `instance ${id} holds a call (${patients.map((p) => p.owner).join(', ')})`,
    );
  // For comparison: the longest silence of the music itself, with nothing happening (its loop).
  const from = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 4_500));
  console.log(
    `  before anything, longest silence per patient over 4.5 s: ${patients.map((patient) => maxGap(patient.phone, from, Date.now())).join(', ')} ms`,
  );
  return patients;
}

/**
 * Watches CLIENT LIST on `redis`, a direct connection to the server that will hold the instances
 * next (the replica about to be promoted; the restarted redis-server), from now on; `result` is when
 * (epoch ms) each instance's named connection appeared there.
 */
function watchBothBack(callPath: CallPath, redis: Redis): { result: Promise<number[]> } {
  const ids = [instanceIdOf(callPath.appAt(0)), instanceIdOf(callPath.appAt(1))];
  redis.on('error', () => undefined);
  const seen: Array<number | undefined> = [undefined, undefined];
  const result = (async () => {
    const until = Date.now() + 60_000;
    while (Date.now() < until && seen.some((at) => at === undefined)) {
      const clients = (await redis.call('CLIENT', 'LIST').catch(() => '')) as string;
      const at = Date.now();
      ids.forEach((id, i) => {
        if (seen[i] === undefined && clients.includes(`name=sip-app:${id}`)) seen[i] = at;
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    redis.disconnect();
    if (seen.some((at) => at === undefined))
      throw new Error('the sip app instances did not come back on the new server');
    return seen as number[];
  })();
  return { result };
}

/**
 * After Redis came back (at `since`): for WATCH_AFTER_MS nothing changes hands, no instance thinks
 * the other gone; every patient hears one stream of music, heard no gap and no BYE.
 */
async function assertNothingMoved(
  callPath: CallPath,
  patients: Waiting[],
  logFrom: number[],
  since: number,
  what: string,
): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, WATCH_AFTER_MS));
  for (const index of [0, 1]) {
    const wrong = callPath
      .appAt(index)
      .logs.slice(logFrom[index])
      .filter((line) => line.msg === ADOPTED || line.msg === GONE);
    assert.equal(
      wrong.map((line) => `${line.msg} ${String(line['callId'] ?? '')}`),
      [],
      `${what}: instance ${index + 1} took nothing over`,
    );
  }
  const gaps: number[] = [];
  for (const [i, patient] of patients.entries()) {
    assert.is(
      await ownerOf(callPath, patient.callId),
      patient.owner,
      `${what}: patient ${i + 1}'s call kept its owner`,
    );
    assertHears(
      await listen(patient.phone, `patient ${i + 1} after ${what}`, 1_000),
      HOLD_MUSIC_HZ,
      `patient ${i + 1} after ${what}`,
    );
    gaps.push(maxGap(patient.phone, since, Date.now()));
    assert.ok(gaps[i]! < MAX_SILENCE_MS, `${what}: patient ${i + 1} heard ${gaps[i]} ms of silence`);
    assert.is(patient.dialog.requestsReceived('BYE').length, 0, `${what}: no BYE to patient ${i + 1}`);
  }
  return `longest silence per patient ${gaps.join(', ')} ms`;
}

/** An agent answers each patient in turn; each hears the agent, and hangs up. */
async function answerEach(callPath: CallPath, callers: Callers, patients: Waiting[]): Promise<void> {
  const staff = new Staff(callPath.redis);
  const desk = await staff.workstation('After Redis');
  const dora = await AgentPhone.register(callPath.kamailio, desk.id);
  callers.keep(dora);
  await staff.available('dora', desk.id);
  const unanswered = new Set(patients);
  for (let i = 0; i < patients.length; i++) {
    const ring = await dora.nextInvite(15_000);
    const patient = [...unanswered].find((candidate) => candidate.callId === header(ring.invite, QUEUE_CALL_ID_HEADER));
    if (!patient) throw new Error(`the ring is for no waiting patient: ${header(ring.invite, QUEUE_CALL_ID_HEADER)}`);
    unanswered.delete(patient);
    const media = await ring.answer();
    await patient.phone.waitForTone(AGENT_TONE_HZ, 5_000);
    assertHears(await listen(patient.phone, 'the agent', 1_000), AGENT_TONE_HZ, `patient ${i + 1} hears the agent`);
    assert.is((await patient.dialog.hangUp()).status, 200, `patient ${i + 1}'s BYE`);
    await ring.waitForBye();
    await waitFor(
      `call ${patient.callId} ended`,
      async () => (await readCall(callPath.redis, patient.callId))?.state === 'ended',
      10_000,
    );
    media.stopSending();
    patient.phone.stopSending();
  }
  await staff.leave('dora');
}

const sentinel = suite<{ group: SentinelGroup; path: CallPath }>('two sip app instances through a Sentinel failover');

sentinel.before(async (context) => {
  context.group = await startSentinelGroup();
  context.path = await startCallPath({
    redis: context.group.env,
    instances: 2,
    appEnv: { RING_TIMEOUT_SECONDS: '30', PATIENT_KEEPALIVE_SECONDS: '5' },
  });
});

sentinel.after(async (context) => {
  await context.path?.stop();
  await context.group?.stop();
});

sentinel(
  "the master dies (SIGKILL), twice: the instances reconnect a moment apart, neither takes the other's calls, every patient keeps one stream of music, and each is answered",
  async ({ group, path: callPath }) => {
    const callers = await Callers.open(callPath);
    try {
      const patients = await fourWaiting(callPath, callers);
      const figures: string[] = [];
      for (const round of [1, 2]) {
        const oldPort = (await group.masterPort()) ?? 0;
        const old = group.nodes.find((node) => node.port === oldPort);
        if (!old) throw new Error(`no node is the master (${oldPort})`);
        const other = group.nodes.find((node) => node !== old)!;
        if (round === 2) await group.waitForGoodReplica(other.port, 30_000);
        const logFrom = [callPath.appAt(0).logs.length, callPath.appAt(1).logs.length];
        // The replica, soon the master: the instances appear in its CLIENT LIST as they reconnect.
        const back = watchBothBack(callPath, group.connect(other.port));
        const killedAt = Date.now();
        await group.kill(old);
        const newPort = await group.waitForNewMaster(oldPort, 30_000);
        const promotedAt = Date.now();
        assert.is(newPort, other.port);
        const [a, b] = (await back.result).map((at) => at - promotedAt);
        const moved = await assertNothingMoved(callPath, patients, logFrom, killedAt, `failover ${round}`);
        figures.push(
          `failover ${round}: promoted ${promotedAt - killedAt} ms after the kill; instances back at ${a} and ${b} ms from the promotion seen by the test (${Math.abs(a! - b!)} ms apart); ${moved}`,
        );
        // The old master comes back as a replica, for the second round.
        await group.restart(old);
      }
      console.log(
        `  Sentinel failovers with two instances (load ${os.loadavg()[0]?.toFixed(1)}):\n    ${figures.join('\n    ')}`,
      );
      await answerEach(callPath, callers, patients);
    } finally {
      await callers.close();
    }
  },
);

sentinel.run();

const restart = suite<{ redis: RunningRedis; port: number; dir: string; path: CallPath }>(
  'two sip app instances through a Redis restart',
);

restart.before(async (context) => {
  context.dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-redis-restart-'));
  context.port = await freePort();
  context.redis = await startRedisServer({ host: '127.0.0.1', port: context.port, dir: context.dir, appendOnly: true });
  context.path = await startCallPath({
    redis: { REDIS_URL: context.redis.url },
    instances: 2,
    appEnv: { RING_TIMEOUT_SECONDS: '30', PATIENT_KEEPALIVE_SECONDS: '5' },
  });
});

restart.after(async (context) => {
  await context.path?.stop();
  await context.redis?.process.stop();
  if (context.dir) rmSync(context.dir, { recursive: true, force: true });
});

restart(
  "redis-server stops and starts again on its port with its AOF: neither instance takes the other's calls, and each patient is answered",
  async (context) => {
    const { path: callPath } = context;
    const callers = await Callers.open(callPath);
    try {
      const patients = await fourWaiting(callPath, callers);
      const logFrom = [callPath.appAt(0).logs.length, callPath.appAt(1).logs.length];
      const stoppedAt = Date.now();
      await context.redis.process.stop();
      // A connection of the test's own, made once the server is down, that retries every 5 ms: it is
      // back first on the restarted server, and sees the instances come.
      const back = watchBothBack(
        callPath,
        new Redis(context.redis.url, { retryStrategy: () => 5, maxRetriesPerRequest: 0 }),
      );
      // Down long enough for the clients' retries to spread out (ioredis: up to 1 s apart).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      context.redis = await startRedisServer({
        host: '127.0.0.1',
        port: context.port,
        dir: context.dir,
        appendOnly: true,
      });
      const startedAt = Date.now();
      const [a, b] = (await back.result).map((at) => at - startedAt);
      const moved = await assertNothingMoved(callPath, patients, logFrom, stoppedAt, 'the Redis restart');
      console.log(
        `  Redis restart with two instances (down ${startedAt - stoppedAt} ms, load ${os.loadavg()[0]?.toFixed(1)}): instances back at ${a} and ${b} ms from when redis-server answered the test (${Math.abs(a! - b!)} ms apart); ${moved}`,
      );
      await answerEach(callPath, callers, patients);
    } finally {
      await callers.close();
    }
  },
);

restart.run();
