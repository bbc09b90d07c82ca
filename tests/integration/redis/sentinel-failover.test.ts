/**
 * Redis with Sentinel under a patient on hold (docs/scaling.md). A master, a replica and three
 * sentinels; Kamailio, rtpengine and the sip app as processes and signaling in this process, all
 * finding Redis through the sentinels. A patient waits with the hold music and a colleague's panel is
 * open when the master is SIGKILLed. The sentinels must promote the replica; the patient must hear the
 * music on, the panel keep the call in its state, and an agent then answer the patient; what the
 * apps had written and Redis had acknowledged must survive, except what asynchronous replication had
 * not yet carried (measured). Then the old master comes back and a second failover returns to it: the
 * apps follow again.
 *
 * The figures printed here are the ones in docs/scaling.md ("Measured").
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QUEUE_CALL_ID_HEADER, type CallView, type PushEvent } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { redisOptions } from '@deskline/env-config/redis';
import { freePort } from '@deskline/scripts/free-port';
import { startRedisServer } from '@deskline/scripts/redis-server';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  redisSettingsOf,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { PushEvents } from '../../helpers/push-events.js';
import {
  SENTINEL_ADMIN,
  SENTINEL_MASTER,
  startSentinelGroup,
  type SentinelGroup,
} from '../../helpers/redis-sentinel.js';
import { asUser, buildTestApp, loginOk, type LoggedIn } from '../../helpers/signaling.js';
import { header } from '../../helpers/sip-message.js';
import { register } from '../../helpers/sip-register.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { waitFor } from '../../helpers/wait.js';

const PASSWORD = 'correct horse battery';
/** The writer's pace: one acknowledged write every 10 ms. */
const WRITE_EVERY_MS = 10;
const WRITES_STREAM = 'test:failover-writes';

interface Context {
  group: SentinelGroup;
  path: CallPath;
  app: FastifyInstance;
  anna: LoggedIn;
  ben: LoggedIn;
  line: PatientLine;
  open: Array<{ close(): unknown }>;
  /** The first test's patient, answered by Anna; the second test hangs up on them. */
  talking?: { dialog: PatientDialog; callId: string };
}

const test = suite<Context>('Redis Sentinel: a failover with a patient waiting');

test.before(async (context) => {
  context.open = [];
  context.group = await startSentinelGroup();
  // A keepalive every second: the sip app probes the waiting patient while Redis has no master too.
  context.path = await startCallPath({
    redis: context.group.env,
    appEnv: { RING_TIMEOUT_SECONDS: '30', PATIENT_KEEPALIVE_SECONDS: '1' },
  });
  context.app = await buildTestApp(context.group.env.REDIS_URL, {
    ...context.group.env,
    SIP_DOMAIN: context.path.kamailio.domain,
  });
  await context.app.ready();
  for (const name of ['anna', 'ben']) {
    await context.app.users.create({
      email: `${name}@clinic.example`,
      displayName: name,
      role: 'employee',
      password: PASSWORD,
    });
  }
  context.anna = await loginOk(context.app, 'anna@clinic.example', PASSWORD);
  context.ben = await loginOk(context.app, 'ben@clinic.example', PASSWORD);
  context.line = await PatientLine.open(context.path.kamailioPort);
});

test.after(async (context) => {
  for (const item of context.open.reverse()) await Promise.resolve(item.close()).catch(() => undefined);
  await context.line?.close();
  await context.app?.close();
  await context.path?.stop();
  await context.group?.stop();
});

const callEvent =
  (callId: string, state: CallView['state']) =>
  (event: PushEvent): event is Extract<PushEvent, { type: 'call' }> =>
    event.type === 'call' && event.call.id === callId && event.call.state === state;

/** The largest silence between two packets the patient received in [from, to]. */
function largestGap(received: readonly Received[], from: number, to: number): number {
  const window = received.filter((packet) => packet.at >= from && packet.at <= to);
  let gap = 0;
  for (let i = 1; i < window.length; i++)
    gap = Math.max(gap, (window[i] as Received).at - (window[i - 1] as Received).at);
  return gap;
}

/**
 * Writes at a steady pace (XADD of a sequence number) through Sentinel, as the apps write, and keeps
 * when each write was acknowledged; writes that fail during the failover are simply not acknowledged.
 */
class SteadyWriter {
  readonly acknowledged = new Map<number, number>();
  private readonly redis: Redis;
  private running = true;
  private readonly done: Promise<void>;

  constructor(group: SentinelGroup) {
    this.redis = new Redis(group.env.REDIS_URL, {
      ...redisOptions(redisSettingsOf(group.env), 'test-writer'),
      lazyConnect: false,
      maxRetriesPerRequest: 0,
    });
    this.redis.on('error', () => undefined);
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let seq = 0;
    while (this.running) {
      const started = Date.now();
      seq += 1;
      try {
        await this.redis.xadd(WRITES_STREAM, '*', 'seq', String(seq));
        this.acknowledged.set(seq, Date.now());
      } catch {
        // Not acknowledged: the writer's caller would know it failed.
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, WRITE_EVERY_MS - (Date.now() - started))));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.redis.disconnect();
  }
}

/** The writer's sequence numbers in the AOF of a killed node, read by a throwaway redis-server on a copy. */
async function aofSurvivors(dir: string): Promise<Set<number>> {
  const copy = mkdtempSync(join(tmpdir(), 'deskline-aof-'));
  cpSync(join(dir, 'appendonlydir'), join(copy, 'appendonlydir'), { recursive: true });
  const server = await startRedisServer({ host: '127.0.0.1', port: await freePort(), dir: copy, appendOnly: true });
  const redis = new Redis(server.url);
  try {
    return new Set((await redis.xrange(WRITES_STREAM, '-', '+')).map(([, fields]) => Number(fields[1])));
  } finally {
    redis.disconnect();
    await server.process.stop();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** When each app's connections appear on `port` (CLIENT LIST), in ms after `since`. */
function watchClients(
  group: SentinelGroup,
  port: number,
  since: number,
): { result: Promise<{ signaling: number; sip: number }>; stop(): void } {
  const admin = group.connect(port);
  admin.on('error', () => undefined);
  let stopped = false;
  const seen: { signaling?: number; sip?: number } = {};
  const result = (async () => {
    while (!stopped && (seen.signaling === undefined || seen.sip === undefined)) {
      const list = (await admin.call('CLIENT', 'LIST').catch(() => '')) as string;
      if (seen.signaling === undefined && /name=signaling-push\b/.test(list)) seen.signaling = Date.now() - since;
      if (seen.sip === undefined && /name=sip-app:/.test(list) && /name=sip-router\b/.test(list))
        seen.sip = Date.now() - since;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    admin.disconnect();
    if (seen.signaling === undefined || seen.sip === undefined)
      throw new Error(`the apps did not reconnect to port ${port}: ${JSON.stringify(seen)}`);
    return { signaling: seen.signaling, sip: seen.sip };
  })();
  return {
    result,
    stop() {
      stopped = true;
    },
  };
}

/** Until signaling answers a request that needs Redis (the tab list) with 200; ms after `since`. */
async function signalingAnswersAfter(app: FastifyInstance, who: LoggedIn, since: number): Promise<number> {
  await waitFor(
    'signaling to answer from Redis again',
    async () => (await asUser(app, who, 'GET', '/api/tasks?tab=abandoned')).statusCode === 200,
    30_000,
  );
  return Date.now() - since;
}

test('the master dies (SIGKILL) with a patient waiting: the replica is promoted, the music plays on, the board keeps the call, an agent answers, and no write older than replication allows is lost', async (context) => {
  const { group, path, app, anna, ben, line, open } = context;
  const oldMaster = group.nodes[0]!;
  assert.is(await group.masterPort(), oldMaster.port, 'the first node is the master at the start');

  // Ben's panel is open; a patient calls and waits with the hold music.
  const panel = await PushEvents.open(app, ben);
  open.push(panel);
  const phone = await PatientPhone.open();
  open.push(phone);
  const from = panel.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
  open.push(dialog);
  const waiting = await panel.waitFor(
    'the call waiting on the board',
    (e): e is Extract<PushEvent, { type: 'call' }> => e.type === 'call' && e.call.state === 'waiting',
    from,
    15_000,
  );
  const callId = waiting.event.call.id;
  await phone.waitForTone(HOLD_MUSIC_HZ, 5_000);

  // Writes at a steady pace, through Sentinel, for 2 s before the kill.
  const writer = new SteadyWriter(group);
  await waitFor(
    '2 s of acknowledged writes',
    () => writer.acknowledged.size >= 2000 / WRITE_EVERY_MS / 2 || undefined,
    10_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 1000));

  // A browser's REGISTER through Kamailio, whose ndb_redis checks its credentials in Redis.
  const probeCredentials = await path.kamailio.browserCredentials('ws-probe');
  const probe = await SipWsEndpoint.connect(path.kamailio.wsUrl);
  open.push(probe);
  const probeRegister = async (): Promise<number> => {
    const { response } = await register(probe, {
      user: 'ws-probe',
      domain: path.kamailio.domain,
      ...probeCredentials,
      contact: probe.contact('ws-probe'),
      expires: 60,
    });
    return response.status ?? 0;
  };
  assert.is(await probeRegister(), 200, 'Kamailio authenticates through Sentinel');

  const killedAt = Date.now();
  await group.kill(oldMaster);
  const promoted = group.waitForNewMaster(oldMaster.port, 30_000).then((port) => ({ port, at: Date.now() }));
  // REGISTER every 200 ms until Kamailio answers 200 again: what a browser's refresh meets.
  const kamailioAnswers: Array<{ at: number; status: number }> = [];
  await waitFor(
    'Kamailio to authenticate again',
    async () => {
      const status = await probeRegister();
      kamailioAnswers.push({ at: Date.now() - killedAt, status });
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
      return status === 200;
    },
    30_000,
  );
  const { port: newPort, at: promotedAt } = await promoted;
  const promotionMs = promotedAt - killedAt;
  const kamailioBackMs = kamailioAnswers.at(-1)?.at ?? 0;
  const refused = kamailioAnswers.filter((answer) => answer.status !== 200);
  assert.ok(
    refused.every((answer) => answer.status === 500),
    `while Redis has no master Kamailio answers 500: ${JSON.stringify(refused)}`,
  );
  assert.is.not(newPort, oldMaster.port);
  assert.is(newPort, group.nodes[1]!.port, 'the replica is the new master');
  const clients = watchClients(group, newPort, killedAt);
  const signalingMs = await signalingAnswersAfter(app, anna, killedAt);
  const reconnected = await clients.result;

  // Writes go on through the new master; then what was acknowledged before the kill is checked.
  const acknowledgedBeforeKill = [...writer.acknowledged].filter(([, at]) => at <= killedAt);
  await waitFor(
    'writes acknowledged by the new master',
    () => [...writer.acknowledged.values()].some((at) => at > killedAt + promotionMs) || undefined,
    15_000,
  );
  await writer.stop();
  const master = group.connect(newPort);
  open.push({ close: () => master.disconnect() });
  const present = new Set((await master.xrange(WRITES_STREAM, '-', '+')).map(([, fields]) => Number(fields[1])));
  const lost = acknowledgedBeforeKill.filter(([seq]) => !present.has(seq));
  const lostWindowMs = lost.length > 0 ? killedAt - Math.min(...lost.map(([, at]) => at)) : 0;
  const lastSecond = acknowledgedBeforeKill.filter(([, at]) => at > killedAt - 1000).length;
  // For comparison, what the dead master's own disk kept (AOF, appendfsync everysec): a server
  // without a replica would have come back with this.
  const ownDisk = await aofSurvivors(oldMaster.dir);
  const lostOnDisk = acknowledgedBeforeKill.filter(([seq]) => !ownDisk.has(seq));
  const diskWindowMs = lostOnDisk.length > 0 ? killedAt - Math.min(...lostOnDisk.map(([, at]) => at)) : 0;

  // The patient heard the music through it all.
  const listenedUntil = Date.now() + 2000;
  await phone.waitUntil(
    '2 s more of music',
    (received) => (received.at(-1)?.at ?? 0) >= listenedUntil || undefined,
    5_000,
  );
  const gapMs = largestGap(phone.received, killedAt - 2000, listenedUntil);
  const afterKill = phone.received.filter((packet) => packet.at > killedAt && packet.at <= listenedUntil);
  const musicShare = afterKill.filter((packet) => isTone(packet, HOLD_MUSIC_HZ)).length / Math.max(afterKill.length, 1);
  assert.equal(dialog.requestsReceived('BYE'), [], 'the patient was not hung up on');
  assert.ok(dialog.requestsReceived('OPTIONS').length >= 3, 'the keepalive went on');
  assert.ok(gapMs < 500, `largest gap in the hold music at the patient: ${gapMs} ms`);
  assert.ok(musicShare > 0.9, `${(musicShare * 100).toFixed(0)}% of the packets since the kill are the music`);

  // The board kept the call: Ben's socket is open, and a panel opened now sees it waiting.
  const fresh = await PushEvents.open(app, anna);
  open.push(fresh);
  const hello = await fresh.waitFor(
    "the fresh panel's snapshot",
    (e): e is Extract<PushEvent, { type: 'hello' }> => e.type === 'hello',
  );
  assert.equal(
    hello.event.calls.filter((call) => call.id === callId).map((call) => call.state),
    ['waiting'],
    'a panel opened after the failover shows the call waiting',
  );

  // Anna takes a workstation (registering through Kamailio, which found the new master too) and answers.
  const workstation = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  const agent = await AgentPhone.register(path.kamailio, workstation.id);
  open.push(agent);
  const ringFrom = panel.mark();
  await app.agents.selectWorkstation(anna.info.user.id, workstation.id, async (holder) => holder);
  const ring = await agent.nextInvite(15_000);
  assert.is(header(ring.invite, QUEUE_CALL_ID_HEADER), callId);
  await panel.waitFor("ringing on Ben's panel", callEvent(callId, 'ringing'), ringFrom, 5_000);
  await ring.answer();
  await panel.waitFor("bridged on Ben's panel", callEvent(callId, 'bridged'), ringFrom, 5_000);
  await phone.waitForTone(AGENT_TONE_HZ, 5_000);
  context.talking = { dialog, callId };

  const rate = packetsPerSecond(afterKill);
  console.log(
    [
      '  Sentinel failover (SIGKILL of the master), on this shared 2-core machine:',
      `    promotion: ${promotionMs} ms after the kill (down-after-milliseconds 1000)`,
      `    hold music at the patient: largest gap ${gapMs} ms, ${rate.toFixed(1)} packets/s after the kill`,
      `    clients on the new master: signaling at +${reconnected.signaling} ms, sip app at +${reconnected.sip} ms; signaling answers from Redis at +${signalingMs} ms`,
      `    Kamailio: ${refused.length} REGISTERs answered 500 while Redis had no master, 200 again at +${kamailioBackMs} ms`,
      `    writes acknowledged in the last second before the kill: ${lastSecond}; lost through the replica: ${lost.length} of ${acknowledgedBeforeKill.length} (window ${lostWindowMs} ms before the kill)`,
      `    the dead master's own AOF (everysec) kept all but ${lostOnDisk.length} of them (window ${diskWindowMs} ms before the kill)`,
    ].join('\n'),
  );
  // AOF everysec bounds what one server loses to about 1 s; here the replica carries the data, and
  // asynchronous replication loses at most what it had not yet sent: less than a second's worth.
  assert.ok(lostWindowMs <= 1000, `lost writes go back ${lostWindowMs} ms before the kill`);
  assert.ok(lost.length <= lastSecond, `${lost.length} writes lost`);
});

test('the old master comes back as a replica, and a second failover returns to it: the apps follow again', async (context) => {
  const { group, app, anna, ben, line, open } = context;
  const [first, second] = [group.nodes[0]!, group.nodes[1]!];
  assert.ok(context.talking, 'the first test left a patient talking to Anna');
  await group.restart(first);
  // The sentinels turn it into a replica of the new master; wait until it has synced.
  const returning = group.connect(first.port);
  open.push({ close: () => returning.disconnect() });
  await waitFor(
    'the old master to sync as a replica',
    async () => /master_link_status:up/.test(await returning.info('replication').catch(() => '')),
    30_000,
  );
  await group.waitForGoodReplica(first.port, 30_000);

  const sentinel = new Redis({
    host: '127.0.0.1',
    port: group.sentinelPorts[0]!,
    username: SENTINEL_ADMIN,
    password: group.password,
  });
  open.push({ close: () => sentinel.disconnect() });
  const panel = await PushEvents.open(app, ben);
  open.push(panel);
  const writer = new SteadyWriter(group);
  await waitFor('writes before the failover', () => writer.acknowledged.size >= 50 || undefined, 10_000);
  const startedAt = Date.now();
  assert.is(await sentinel.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER), 'OK');
  const back = await group.waitForNewMaster(second.port, 30_000);
  const switchedMs = Date.now() - startedAt;
  assert.is(back, first.port, 'the master is the first node again');
  const clients = watchClients(group, back, startedAt);
  const signalingMs = await signalingAnswersAfter(app, anna, startedAt);
  const reconnected = await clients.result;
  // The old master stays up, a master still, until the sentinels convert it (up to 10 s): the apps
  // must have left it at the switch, or what they write there is lost.
  await waitFor(
    'writes on the master of the moment',
    () => [...writer.acknowledged.values()].some((at) => at > startedAt + switchedMs + 500) || undefined,
    15_000,
  );
  await writer.stop();
  const master = group.connect(back);
  open.push({ close: () => master.disconnect() });
  const demoted = group.connect(second.port);
  open.push({ close: () => demoted.disconnect() });
  // Converted by the sentinels within about 10 s; then what it took alone would be gone for good.
  await waitFor(
    'the old master to be a replica again',
    async () => /master_link_status:up/.test(await demoted.info('replication').catch(() => '')),
    30_000,
  );
  const present = new Set((await master.xrange(WRITES_STREAM, '-', '+')).map(([, fields]) => Number(fields[1])));
  const lost = [...writer.acknowledged.keys()].filter((seq) => !present.has(seq));
  console.log(
    `  second failover (SENTINEL FAILOVER): master back after ${switchedMs} ms; signaling at +${reconnected.signaling} ms, sip app at +${reconnected.sip} ms, REST at +${signalingMs} ms; acknowledged writes lost: ${lost.length} of ${writer.acknowledged.size}`,
  );
  assert.ok(
    reconnected.sip < switchedMs + 2000 && reconnected.signaling < switchedMs + 2000,
    'the apps follow the switch within 2 s',
  );
  assert.is(lost.length, 0, 'a planned failover loses no acknowledged write');

  // The sip app writes through the new master: the patient hangs up, the call ends on the board.
  const from = panel.mark();
  const { dialog, callId } = context.talking;
  assert.is((await dialog.hangUp()).status, 200);
  await panel.waitFor("the call ended on Ben's panel", callEvent(callId, 'ended'), from, 10_000);

  // A new patient is queued and seen waiting (the sip app's writes, signaling's stream reader).
  const phone = await PatientPhone.open();
  open.push(phone);
  const next = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
  open.push(next);
  const anyWaiting = await panel.waitFor(
    'the next call waiting',
    (e): e is Extract<PushEvent, { type: 'call' }> =>
      e.type === 'call' && e.call.id !== callId && e.call.state !== 'intro',
    from,
    15_000,
  );
  assert.ok(['waiting', 'ringing'].includes(anyWaiting.event.call.state), anyWaiting.event.call.state);
  assert.match(String(await master.call('ROLE').then((role) => (role as unknown[])[0])), 'master');
  assert.is(
    await master.exists(RedisKeys.call(anyWaiting.event.call.id)),
    1,
    'the new call is written on the master of the moment',
  );
  assert.is((await next.hangUp()).status, 200);
});

test.run();
