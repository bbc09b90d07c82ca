/**
 * The call path for the sip app's integration tests: a real redis-server, rtpengine and Kamailio on
 * free ports, the sip app itself as a process, sipp as the patient's SIP side and a PatientPhone as
 * its media side.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import {
  PROMPT_LANGUAGES,
  PROMPT_NAMES,
  type CallEvent,
  type CallView,
  type FixedPromptName,
} from '@deskline/protocol';
import { RedisKeys, RedisStreams, callFromHash } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import type { ExitStatus } from '@deskline/scripts/managed-process';
import { closeRedis, keepConnected, redisOptions, type RedisSettings } from '@deskline/env-config/redis';
import { NgClient } from '@deskline/sip/media/ng-client';
import { RtpEngine } from '@deskline/sip/media/rtpengine';
import { wavOf } from '@deskline/sip/voicemail/voicemail-files';
import { startTestRedis, type TestRedis } from './redis.js';
import { startTestKamailio, type TestKamailio } from './kamailio.js';
import { startTestRtpengine, type TestRtpengine } from './rtpengine.js';
import { startSipApp, type RunningSipApp } from './sip-app.js';
import { describeSipp, runSipp, type SippResult } from './sipp.js';
import { linearToUlaw } from './patient-phone.js';
import { waitFor } from './wait.js';

export const CLINIC_NUMBER = '100';
/** The test media: a tone per file, so the patient's side can tell which one it hears. */
export const INTRO_HZ = 440;
export const INTRO_SECONDS = 3;
export const HOLD_MUSIC_HZ = 1000;
export const HOLD_MUSIC_SECONDS = 2;
/**
 * The call plan's prompts (issue 15), a tone each (the same in every language), written in
 * PromptFiles' layout (<MEDIA_DIR>/prompts/<lang>/<name>.wav): the patient's side tells them apart by
 * their tone (isTone's 15% windows do not overlap, nor those of the intro and the hold music).
 */
export const PROMPT_TONES: Readonly<Record<FixedPromptName, { hz: number; seconds: number }>> = {
  intro: { hz: INTRO_HZ, seconds: INTRO_SECONDS },
  closed: { hz: 1500, seconds: 1 },
  menu: { hz: 2100, seconds: 1 },
  'callback-offer': { hz: 2900, seconds: 1 },
  'callback-confirmed': { hz: 700, seconds: 1 },
  'voicemail-greeting': { hz: 3500, seconds: 1 },
  'voicemail-saved': { hz: 3500, seconds: 1 },
  'position-many': { hz: 3500, seconds: 1 },
};

const SIPP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sipp');

export interface CallPathOptions {
  /** Extra environment for the sip app (SKIP_INTRO, CLINIC_NUMBERS, …). */
  appEnv?: Record<string, string>;
  /** Lets a test put something between the sip app and rtpengine: gets rtpengine's ng port, returns the app's. */
  ngPortForApp?: (rtpengineNgPort: number) => Promise<number>;
  /** Sip app instances behind Kamailio (SIP_APP_ADDRESSES), each from a port of its own. Default 1. */
  instances?: number;
  /** A Redis of the test's own (a Sentinel group, tests/helpers/redis-sentinel.ts) instead of a fresh redis-server. */
  redis?: RedisSettingsEnv;
  /** rtpengine keeps its calls in the test Redis (database 1), as an installation's does (RTPENGINE_REDIS_DB). */
  rtpengineKeyspace?: boolean;
}

/** REDIS_URL and, for Sentinel, REDIS_SENTINELS and REDIS_SENTINEL_MASTER, as the apps take them. */
export interface RedisSettingsEnv {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
}

/** The settings as env-config reads them (the list split). */
export function redisSettingsOf(env: RedisSettingsEnv): RedisSettings {
  return {
    REDIS_URL: env.REDIS_URL,
    REDIS_SENTINELS: env.REDIS_SENTINELS?.split(','),
    REDIS_SENTINEL_MASTER: env.REDIS_SENTINEL_MASTER,
  };
}

export interface CallPath {
  redis: Redis;
  /** The test Redis's URL, for connections of a test's own (subscribers). */
  redisUrl: string;
  rtpengine: RtpEngine;
  rtpengineProcess: TestRtpengine;
  /** The sip app now running (a new one after `crashApp` and `startApp`). */
  readonly app: RunningSipApp;
  kamailio: TestKamailio;
  kamailioPort: number;
  appEnv: Record<string, string>;
  /** SIGKILL, as in a crash: no BYE, no cleanup; resolves once the process is gone. */
  crashApp(): Promise<void>;
  /** SIGTERM, as `docker compose restart sip` does; resolves with the exit status once the process is gone. */
  stopApp(): Promise<ExitStatus>;
  /** Starts the sip app again (after `crashApp` or `stopApp`) with the same settings, and `env` on top. */
  startApp(env?: Record<string, string>): Promise<RunningSipApp>;
  /** The same for instance `index` of several (`instances`); index 0 is the one above. */
  appAt(index: number): RunningSipApp;
  crashAppAt(index: number): Promise<void>;
  stopAppAt(index: number): Promise<ExitStatus>;
  startAppAt(index: number, env?: Record<string, string>): Promise<RunningSipApp>;
  /** Runs one sipp call (tests/sipp/<scenario>) through Kamailio. */
  sipp(scenario: string, options?: SippOptions): Promise<SippResult>;
  stop(): Promise<void>;
}

export interface SippOptions {
  /** The dialled number (Request-URI user). */
  service?: string;
  /** `-key name value` pairs for the scenario, e.g. rtp_port. */
  keys?: Record<string, string | number>;
  /** `-d`: how long a `<pause/>` lasts, in ms. */
  pauseMs?: number;
  /** `-mp`: the patient's media port (its SDP's m=audio port, and where it sends RTP from). Default a free one. */
  mediaPort?: number;
  /** Where sipp runs: the directory holding the WAV a scenario streams (`<exec rtp_stream>`). */
  cwd?: string;
  /** sipp gives up (and fails) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Kills sipp when aborted (see runSipp). */
  signal?: AbortSignal;
  /** More sipp options, e.g. `-aa` to answer the queue's keepalive OPTIONS during a `<pause/>`. */
  extraArgs?: string[];
}

export { describeSipp, type SippResult };

/** The Call-ID of sipp's call, from its message trace: the sip app logs it as sipCallId. */
export function sipCallIdOf(result: SippResult): string {
  const match = /^Call-ID:\s*(\S+)/im.exec(result.messages);
  if (!match?.[1]) throw new Error(`no Call-ID in sipp's messages\n${describeSipp(result)}`);
  return match[1];
}

/** Starts everything; the sip app is connected to Kamailio when this resolves. */
export async function startCallPath(options: CallPathOptions = {}): Promise<CallPath> {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const work = mkdtempSync(path.join(os.tmpdir(), 'deskline-sip-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const mediaDir = path.join(work, 'media');
    writeTestMedia(mediaDir);

    let redisEnv: RedisSettingsEnv;
    if (options.redis) {
      redisEnv = options.redis;
    } else {
      const testRedis: TestRedis = await startTestRedis();
      cleanups.push(() => testRedis.stop());
      redisEnv = { REDIS_URL: testRedis.url };
    }
    const settings = redisSettingsOf(redisEnv);
    // The test's own connection follows a failover as the apps' do, and waits through one.
    const redis = new Redis(redisEnv.REDIS_URL, {
      ...redisOptions(settings, 'test'),
      lazyConnect: false,
      maxRetriesPerRequest: options.redis ? 20 : 1,
    });
    redis.on('error', () => undefined);
    // The test's own view of Redis must outlive a failover as the services' does.
    keepConnected(redis, () => undefined);
    cleanups.push(() => closeRedis(redis));

    const rtpengineProcess = await startTestRtpengine(
      options.rtpengineKeyspace ? { keyspace: { redisUrl: redisEnv.REDIS_URL } } : {},
    );
    cleanups.push(() => rtpengineProcess.stop());
    const ng = await NgClient.open({
      host: '127.0.0.1',
      port: rtpengineProcess.ngPort,
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => ng.close());

    const outboundTrunk = options.appEnv?.['OUTBOUND_TRUNK'];
    const redisSentinel =
      settings.REDIS_SENTINELS && settings.REDIS_SENTINEL_MASTER
        ? { sentinels: settings.REDIS_SENTINELS, master: settings.REDIS_SENTINEL_MASTER }
        : undefined;
    const kamailio = await startTestKamailio({
      redisUrl: redisEnv.REDIS_URL,
      ...(redisSentinel ? { redisSentinel } : {}),
      ...(outboundTrunk ? { outboundTrunk } : {}),
      ...(options.instances ? { appInstances: options.instances } : {}),
    });
    cleanups.push(() => kamailio.stop());

    const appNgPort = options.ngPortForApp
      ? await options.ngPortForApp(rtpengineProcess.ngPort)
      : rtpengineProcess.ngPort;
    const appEnv = {
      ...redisEnv,
      SIP_PORT: String(kamailio.sipPort),
      SIP_APP_HOST: kamailio.appHost,
      SIP_APP_PORT: String(kamailio.appPort),
      RTPENGINE_NG_PORT: String(appNgPort),
      RTPENGINE_DTMF_PORT: String(rtpengineProcess.dtmfPort),
      CLINIC_NUMBERS: CLINIC_NUMBER,
      MEDIA_DIR: mediaDir,
      ...options.appEnv,
    };
    const envAt = (index: number, env: Record<string, string> = {}): Record<string, string> => ({
      ...appEnv,
      SIP_APP_PORT: String(kamailio.appPorts[index]),
      ...env,
    });
    const apps: RunningSipApp[] = [];
    for (let index = 0; index < kamailio.appPorts.length; index++) {
      apps.push(await startSipApp({ env: envAt(index), readyWhen: 'options-answered' }));
      cleanups.push(() => apps[index]?.stop());
    }
    const appAt = (index: number): RunningSipApp => {
      const app = apps[index];
      if (!app) throw new Error(`no sip app instance ${index}`);
      return app;
    };
    const crashAppAt = async (index: number): Promise<void> => {
      appAt(index).process.killNow();
      await appAt(index).process.exited;
    };
    const stopAppAt = (index: number): Promise<ExitStatus> => {
      appAt(index).process.signal('SIGTERM');
      return appAt(index).process.exited;
    };
    const startAppAt = async (index: number, env: Record<string, string> = {}): Promise<RunningSipApp> => {
      const app = await startSipApp({ env: envAt(index, env), readyWhen: 'options-answered' });
      apps[index] = app;
      return app;
    };

    return {
      redis,
      redisUrl: redisEnv.REDIS_URL,
      rtpengine: new RtpEngine(ng),
      rtpengineProcess,
      get app() {
        return appAt(0);
      },
      kamailio,
      kamailioPort: kamailio.sipPort,
      appEnv,
      crashApp: () => crashAppAt(0),
      stopApp: () => stopAppAt(0),
      startApp: (env) => startAppAt(0, env),
      appAt,
      crashAppAt,
      stopAppAt,
      startAppAt,
      sipp: (scenario, sippOptions) => patientCall(kamailio.sipPort, scenario, sippOptions),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** One call from the patient's sipp through Kamailio. */
async function patientCall(kamailioPort: number, scenario: string, options: SippOptions = {}): Promise<SippResult> {
  return runSipp({
    scenario: path.join(SIPP_DIR, scenario),
    remoteHost: '127.0.0.1',
    remotePort: kamailioPort,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    keys: Object.fromEntries(Object.entries(options.keys ?? {}).map(([name, value]) => [name, String(value)])),
    extraArgs: [
      '-s',
      options.service ?? CLINIC_NUMBER,
      // sipp binds a media port even when it sends no media; keep it off the default 6000.
      '-mp',
      String(options.mediaPort ?? (await freePort('127.0.0.1', ['udp']))),
      ...(options.pauseMs !== undefined ? ['-d', String(options.pauseMs)] : []),
      ...(options.extraArgs ?? []),
    ],
  });
}

/** An 8 kHz mono 16-bit WAV of one sine tone. */
export function toneWav(hz: number, seconds: number): Buffer {
  const rate = 8000;
  const samples = new Int16Array(rate * seconds);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate));
  return wavOf(samples);
}

/** The same tone as rtpengine is given for the built-in media (make-media.sh): 8 kHz mono μ-law in a Sun audio file. */
function toneAu(hz: number, seconds: number): Buffer {
  const rate = 8000;
  const data = Buffer.alloc(rate * seconds);
  for (let i = 0; i < data.length; i++)
    data[i] = linearToUlaw(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)));
  const header = Buffer.alloc(24);
  header.write('.snd', 0, 'ascii');
  header.writeUInt32BE(24, 4); // where the samples start
  header.writeUInt32BE(data.length, 8);
  header.writeUInt32BE(1, 12); // 8-bit μ-law
  header.writeUInt32BE(rate, 16);
  header.writeUInt32BE(1, 20); // mono
  return Buffer.concat([header, data]);
}

/**
 * `<base>.wav` and `<base>.au` of one tone, as make-media.sh and signaling's upload write each file:
 * the .au after the .wav, so that the sip app has rtpengine play it (playableFile).
 */
export function writeTone(base: string, hz: number, seconds: number): void {
  writeFileSync(`${base}.wav`, toneWav(hz, seconds));
  writeFileSync(`${base}.au`, toneAu(hz, seconds));
}

function writeTestMedia(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeTone(path.join(dir, 'hold-music'), HOLD_MUSIC_HZ, HOLD_MUSIC_SECONDS);
  for (const language of PROMPT_LANGUAGES) {
    mkdirSync(path.join(dir, 'prompts', language), { recursive: true });
    for (const name of PROMPT_NAMES) {
      const { hz, seconds } = PROMPT_TONES[name];
      writeTone(path.join(dir, 'prompts', language, name), hz, seconds);
    }
  }
}

export async function activeCallIds(redis: Redis): Promise<string[]> {
  return redis.smembers(RedisKeys.activeCalls);
}

/** The queue's id of the call one of two instances (`instances: 2`) answered as SIP call `sipCallId` (it logs both). */
export async function deskCallIdOf(path: CallPath, sipCallId: string): Promise<string> {
  return waitFor(`the sip app to log the call ${sipCallId}`, () => {
    for (let index = 0; index < path.kamailio.appPorts.length; index++) {
      const line = path
        .appAt(index)
        .logs.find((entry) => entry.msg === 'answered the patient' && entry['sipCallId'] === sipCallId);
      if (typeof line?.['callId'] === 'string') return line['callId'];
    }
    return undefined;
  });
}

/** Which sip app instance owns call `id` now (instanceIdOf). */
export async function ownerOf(callPath: CallPath, id: string): Promise<string | null> {
  return callPath.redis.hget(RedisKeys.call(id), 'owner');
}

export async function readCall(redis: Redis, id: string): Promise<CallView | undefined> {
  return callFromHash(await redis.hgetall(RedisKeys.call(id)));
}

/** The states the stream recorded for one call, in order. */
export async function recordedStates(redis: Redis, id: string): Promise<string[]> {
  const entries = await redis.xrange(RedisStreams.callEvents, '-', '+');
  const states: string[] = [];
  for (const [, fields] of entries) {
    const index = fields.indexOf('event');
    const json = index >= 0 ? fields[index + 1] : undefined;
    if (!json) continue;
    const event = JSON.parse(json) as CallEvent;
    if (event.call.id === id) states.push(event.call.state);
  }
  return states;
}
