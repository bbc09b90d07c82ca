import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import type { CallbackDeps } from './callbacks/callback-call.js';
import { CallbackRegistry } from './callbacks/callback-registry.js';
import { CallbackStore } from './callbacks/callback-store.js';
import { OrphanedCallbacks } from './callbacks/orphaned-callbacks.js';
import { CallRegistry } from './calls/call-registry.js';
import { CallStore } from './calls/call-store.js';
import { takeOverOrphanedCalls } from './calls/orphaned-calls.js';
import { ADOPTION_PROBE_AFTER_CONNECT_MS, AdoptionProbes } from './calls/adoption-probes.js';
import { PatientCall, type PatientCallDeps } from './calls/patient-call.js';
import type { Config } from './config.js';
import { acceptingCalls } from './inbound/accepting-calls.js';
import { admitToQueue } from './inbound/admit-to-queue.js';
import { findClinicLine } from './inbound/find-clinic-line.js';
import { identifyTrunk } from './inbound/identify-trunk.js';
import { runInviteChain, type InviteStep } from './inbound/invite-chain.js';
import { placeCallback } from './inbound/place-callback.js';
import { requireAudioOffer } from './inbound/require-audio-offer.js';
import { InstanceWatch } from './instance-watch.js';
import { NgClient } from './media/ng-client.js';
import { RtpEngine } from './media/rtpengine.js';
import { KeyRelay, KeypressListener, type KeyPress } from './media/keypresses.js';
import { PromptFiles } from './media/prompt-files.js';
import { RtpengineWatch } from './media/rtpengine-watch.js';
import { closeRedis, dropRedis } from '@deskline/env-config/redis';
import { connectRedis } from './redis.js';
import { ContactStore, VoicemailStore } from '@deskline/store';
import { CallerNames } from './calls/caller-names.js';
import { VoicemailFiles } from './voicemail/voicemail-files.js';
import { AgentStore } from './routing/agent-store.js';
import { Router } from './routing/router.js';
import { SipStack } from './sip/sip-stack.js';
import { speedUpSipGrammar } from './sip/grammar-speedup.js';
import { startHealthServer } from './health-server.js';
import {
  CallPlanStore,
  DistributionStore,
  WaitingCalls,
  announceStopped,
  deadPredecessor,
  instanceConnectionName,
} from '@deskline/store';

export interface SipApp {
  /** Connects to Kamailio; calls are taken from then on. */
  start(): void;
  /**
   * Refuses new calls (503), stops routing, CANCELs rings, and leaves the calls running in rtpengine
   * and written down in Redis for the next instance to adopt (PatientCall.leave); with
   * SIP_END_CALLS_ON_STOP, ends them instead (BYE to patients and agents), gives their agents back and
   * releases rtpengine. Ends callbacks, closes connections.
   */
  stop(): Promise<void>;
}

/**
 * Wires the sip app together: Redis, the rtpengine client, the SIP stack, the INVITE chain and the
 * router; carries on with the calls a dead instance left behind. Fails with a clear message when Redis or
 * rtpengine cannot be reached.
 */
export async function buildSipApp(config: Config, log: Logger): Promise<SipApp> {
  const instanceId = randomUUID();
  const grammar = await speedUpSipGrammar();
  if (!grammar.applied)
    log.warn({ reason: grammar.reason }, "sip.js's header parser left as it is: 2-3 ms of CPU per SIP message");
  const redis = await connectRedis(config, log, instanceConnectionName(instanceId));
  const ng = await NgClient.open({
    host: config.RTPENGINE_NG_HOST,
    port: config.RTPENGINE_NG_PORT,
    logger: log.child({ component: 'rtpengine' }),
  });
  const rtpengine = new RtpEngine(ng);
  try {
    await rtpengine.ping();
  } catch (err) {
    await ng.close();
    dropRedis(redis);
    throw new Error(
      `Cannot reach rtpengine at ${config.RTPENGINE_NG_HOST}:${config.RTPENGINE_NG_PORT} (ng over UDP): ${(err as Error).message}`,
    );
  }

  const store = new CallStore(redis, instanceId, config.HISTORY_RETENTION_DAYS);
  const agents = new AgentStore(redis);
  const registry = new CallRegistry();
  const router = new Router({
    redis,
    agents,
    // A ring needs the Kamailio connection: without it the INVITE fails at once and the agent is held
    // back as if their workstation had refused. Calls adopted at start wait for it.
    routableCalls: () => (stack.connected ? registry.routable() : []),
    distribution: new DistributionStore(redis),
    defaultRingTimeoutSeconds: config.RING_TIMEOUT_SECONDS,
    log: log.child({ component: 'router' }),
  });
  let stopping = false;
  const stack: SipStack = new SipStack({
    sipDomain: config.SIP_DOMAIN,
    kamailioHost: config.KAMAILIO_HOST,
    kamailioPort: config.SIP_PORT,
    appHost: config.SIP_APP_HOST,
    appPort: config.SIP_APP_PORT,
    logger: log,
    onConnected: () => void router.wake('connected-to-kamailio'),
    onInvite: (request) => {
      request.trying();
      const context = { request, log: log.child({ sipCallId: request.message.callId }), receivedAt: performance.now() };
      void runInviteChain(steps, context);
    },
  });
  // The first keepalives of adopted calls, spaced, and held until the connection to Kamailio has been
  // up long enough for the requests Kamailio held during the restart to arrive first.
  const adoptionProbes = new AdoptionProbes({ ready: () => stack.connectedForMs >= ADOPTION_PROBE_AFTER_CONNECT_MS });
  const voicemailFiles = new VoicemailFiles(config.RECORDINGS_DIR);
  await voicemailFiles.removeLeftovers();
  const prompts = PromptFiles.fromConfig(config);
  const callPlans = new CallPlanStore(redis);
  const callDeps: PatientCallDeps = {
    rtpengine,
    store,
    agents,
    dialer: stack,
    dialogs: stack,
    routing: router,
    // Looked up at each play: `.au` before `.wav` (PromptFiles).
    get holdMusicFile() {
      return prompts.holdMusic;
    },
    skipIntro: config.SKIP_INTRO,
    keepaliveMs: config.PATIENT_KEEPALIVE_SECONDS * 1000,
    adoptionProbes,
    plans: callPlans,
    prompts,
    timeZone: config.CLINIC_TIME_ZONE,
    voicemail: {
      files: voicemailFiles,
      store: new VoicemailStore(redis),
      prompts,
      // rtpengine runs where its control port is (docker-compose.yml: the same host): it sends the copy there.
      recorderHost: config.RTPENGINE_NG_HOST,
    },
    announcements: {
      plan: () => callPlans.get(),
      prompts,
      waiting: new WaitingCalls(redis),
    },
    contacts: new CallerNames(new ContactStore(redis), config.CLINIC_COUNTRY),
  };
  // The patients' keys, from rtpengine (its --dtmf-log-dest), to their calls: only the patient's side's.
  // A key for a call another instance of this host holds goes to it through Redis (KeyRelay).
  const deliver = ({ callId, tag, key }: KeyPress): boolean => {
    const call = registry.get(callId);
    if (call && call.patientTag === tag) call.onKey(key);
    return call !== undefined;
  };
  let keypresses: KeypressListener;
  let relay: KeyRelay | undefined;
  try {
    relay = await KeyRelay.open(redis, log.child({ component: 'keypad' }), deliver);
    keypresses = await KeypressListener.open({
      host: '127.0.0.1',
      port: config.RTPENGINE_DTMF_PORT,
      rtpengineAddress: isLoopback(config.RTPENGINE_NG_HOST) ? '127.0.0.1' : config.RTPENGINE_NG_HOST,
      log: log.child({ component: 'keypad' }),
      onKey: (press) => {
        if (!deliver(press)) relay?.pass(press);
      },
    });
  } catch (err) {
    await relay?.close();
    await ng.close();
    dropRedis(redis);
    throw new Error(
      `Cannot listen for keypresses on 127.0.0.1:${config.RTPENGINE_DTMF_PORT} (RTPENGINE_DTMF_PORT, UDP): ${(err as Error).message}`,
    );
  }
  const callbacks = new CallbackRegistry();
  // Kept as long as the other history (HISTORY_RETENTION_DAYS, whose setting the statistics add).
  const callbackStore = new CallbackStore(redis, config.HISTORY_RETENTION_DAYS);
  const orphanedCallbacks = new OrphanedCallbacks(callbackStore, rtpengine, log.child({ component: 'callbacks' }));
  const outboundPolicy = new OutboundPolicyStore(redis, config.CLINIC_COUNTRY);
  const callbackDeps: CallbackDeps | undefined = config.OUTBOUND_TRUNK
    ? {
        rtpengine,
        store: callbackStore,
        dialer: stack,
        dialogs: stack,
        trunk: config.OUTBOUND_TRUNK,
        callerId: config.CALLBACK_CALLER_ID ?? config.CLINIC_NUMBERS[0] ?? 'anonymous',
        ringTimeoutMs: config.CALLBACK_RING_SECONDS * 1000,
        keepaliveMs: config.PATIENT_KEEPALIVE_SECONDS * 1000,
        policy: outboundPolicy,
        country: config.CLINIC_COUNTRY,
      }
    : undefined;
  const steps: readonly InviteStep[] = [
    acceptingCalls(() => stopping),
    identifyTrunk((message) => stack.cameFromKamailio(message)),
    placeCallback({ deps: callbackDeps, store: callbackStore, registry: callbacks }),
    findClinicLine(config.CLINIC_NUMBERS),
    requireAudioOffer,
    admitToQueue(callDeps, registry),
  ];

  // The calls of an instance that stopped or died: their patients are still on the line (rtpengine
  // keeps their media), so they are carried on here; those that cannot be are ended, and stranded
  // agents freed.
  const takeOver = async (stopped: ReadonlySet<string> = new Set()): Promise<number> => {
    const orphans = await takeOverOrphanedCalls({
      redis,
      store,
      agents,
      rtpengine,
      instanceId,
      stopped,
      log,
      adopt: async (adopted) => {
        const call = PatientCall.adopt(adopted, callDeps, log.child({ sipCallId: adopted.sip.patient.callId }));
        registry.add(call);
        await call.resume(adopted.sip);
      },
    });
    if (orphans.adopted + orphans.ended > 0)
      log.warn(orphans, 'took over the calls of a sip app instance that is gone');
    return orphans.adopted + orphans.ended;
  };
  // While this instance runs, another one (SIP_APP_ADDRESSES in Kamailio) may stop or die.
  const watch = new InstanceWatch({
    redis,
    instanceId,
    log: log.child({ component: 'instances' }),
    takeOver: async (reason, stopped) => {
      if ((await takeOver(stopped)) > 0) void router.wake('adopted');
      // Its callbacks cannot be carried on: they are ended once their lock lapses.
      if (reason !== 'sweep') orphanedCallbacks.sweep();
    },
  });
  // The health port is this instance's slot on the host (only one process can listen on it): bound
  // first, so that the instance that ran in it before, if it died, is adopted from at once.
  let health: Awaited<ReturnType<typeof startHealthServer>>;
  try {
    health = await startHealthServer({
      host: '127.0.0.1',
      port: config.SIP_APP_HEALTH_PORT,
      connected: () => stack.connected,
    });
  } catch (err) {
    await keypresses.close();
    await relay?.close();
    await ng.close();
    dropRedis(redis);
    throw err;
  }
  // At start: before routing starts and before the SIP connection brings their next requests.
  try {
    const predecessor = await deadPredecessor(redis, `${os.hostname()}:${config.SIP_APP_HEALTH_PORT}`, instanceId);
    if (predecessor)
      log.info({ predecessor }, 'the sip app instance that ran here before is gone; taking over its calls now');
    await takeOver(new Set(predecessor ? [predecessor] : []));
    // Kamailio reads the policy's prefixes from Redis; signaling stores the same default at its start.
    await outboundPolicy.ensure();
    await router.start();
    await watch.start();
  } catch (err) {
    await watch.stop();
    await router.stop();
    await keypresses.close();
    await relay?.close();
    await ng.close();
    await new Promise((resolve) => health.close(resolve));
    dropRedis(redis);
    throw new Error(`Cannot prepare the queue in Redis: ${(err as Error).message}`);
  }

  // A restarted rtpengine has its calls back from its Redis keyspace but plays nothing: each call
  // asks again for what its patient heard, or ends if rtpengine lost it.
  const rtpengineWatch = new RtpengineWatch({
    rtpengine,
    log: log.child({ component: 'rtpengine' }),
    onRestarted: () => void Promise.all([registry.afterRtpengineRestart(), callbacks.afterRtpengineRestart()]),
  });

  return {
    start() {
      stack.start();
      orphanedCallbacks.start();
      rtpengineWatch.start();
      log.info(
        {
          clinicNumbers: config.CLINIC_NUMBERS,
          skipIntro: config.SKIP_INTRO,
          ringTimeoutSeconds: config.RING_TIMEOUT_SECONDS,
          patientKeepaliveSeconds: config.PATIENT_KEEPALIVE_SECONDS,
          historyRetentionDays: config.HISTORY_RETENTION_DAYS,
          outboundTrunk: config.OUTBOUND_TRUNK ?? null,
          callbackRingSeconds: config.CALLBACK_RING_SECONDS,
          instanceId,
        },
        'sip app started',
      );
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await rtpengineWatch.stop();
      await watch.stop();
      await router.stop();
      adoptionProbes.stop();
      await orphanedCallbacks.stop();
      // Callbacks cannot be adopted (their legs die with the process): they end either way.
      await Promise.all([
        config.SIP_END_CALLS_ON_STOP ? registry.endAll('shutdown') : registry.leaveAll(),
        callbacks.endAll(),
      ]);
      // Another running instance adopts the calls left now, while Kamailio still sends this one's
      // in-dialog requests here (answered 481 and passed on to it: the dialogs have left this core).
      if (!config.SIP_END_CALLS_ON_STOP) {
        await announceStopped(redis, instanceId).catch((err: unknown) =>
          log.warn({ err }, 'could not tell the other sip app instances that this one stopped'),
        );
      }
      await stack.stop();
      await new Promise((resolve) => health.close(resolve));
      await keypresses.close();
      await relay?.close();
      await ng.close();
      await closeRedis(redis);
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
