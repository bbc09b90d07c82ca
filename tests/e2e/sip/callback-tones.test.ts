/**
 * The tones an employee hears while calling a patient back, measured as played: headless Chromium runs
 * the web app's own Softphone with its real Ringtone (web/src/services/ringtone.ts) as the call
 * progress tones, and the page listens to everything the Ringtone plays through `monitor()` (an
 * AnalyserNode on its output), every 20 ms: the level (RMS) and the loudest frequency. The call goes
 * browser → Kamailio → sip app → the trunk, where the patient's phone (TrunkPhone) rings, answers,
 * is busy or not reachable. The sip app relays no early media, so all the page plays is its own.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { type SipCredentials, type Workstation } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { waitFor } from '../../helpers/wait.js';
import { startCallPath, type CallPath } from '../../helpers/call-path.js';
import { CALLBACK_NUMBER, grantCallback } from '../../helpers/callback-browser.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { workstationCredentials } from '../../helpers/kamailio.js';

const TIMEOUT = 10_000;
const WORKSTATION: Workstation = { id: 'reception-tones', name: 'Reception tones', kind: 'browser' };
const SERVICES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../web/build/services');

/** The tone frequency (RINGBACK_TONE, BUSY_TONE, ERROR_TONE) and how close the measured peak must be. */
const TONE_HZ = 425;
const HZ_TOLERANCE = 12;
/** A tone plays at RMS ≈ 0.1; silence is 0. */
const LOUD = 0.03;

interface Sample {
  at: number;
  rms: number;
  hz: number;
  tone: string | null;
  ringing: boolean;
}

interface CallRecord {
  state: string;
  remoteRinging?: boolean;
  endReason?: string;
  at: number;
}

interface PageState {
  phone: {
    state: { registration: { status: string }; call?: CallRecord };
    use(w: Workstation): void;
    call(t: string, o: { number: string }): boolean;
    hangUp(): void;
  };
  ringtone: {
    tone: string | undefined;
    blocked: boolean;
    playing: boolean;
    unlock(): void;
    monitor(): AnalyserNode | undefined;
  };
  calls: CallRecord[];
  samples: Sample[];
}

type TonesWindow = Window & {
  __tones: PageState;
  DesklineTones: {
    Softphone: new (api: unknown, ringtone: unknown, tones: unknown) => PageState['phone'] & EventTarget;
    Ringtone: new () => PageState['ringtone'] & EventTarget;
  };
};

async function startPageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await build({
    stdin: {
      contents: "export { Softphone } from './softphone.js';\nexport { Ringtone } from './ringtone.js';\n",
      resolveDir: SERVICES,
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    globalName: 'DesklineTones',
    platform: 'browser',
    target: 'chrome110',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  const page =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tones</title><script src="/tones.js"></script></head><body></body></html>';
  const server = http.createServer((request, response) => {
    if (request.url === '/tones.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function openPhone(page: Page, url: string, credentials: SipCredentials): Promise<void> {
  await page.goto(url);
  await page.evaluate(
    ({ workstation, credentials }) => {
      const w = window as unknown as TonesWindow;
      const ringtone = new w.DesklineTones.Ringtone();
      const phone = new w.DesklineTones.Softphone({ sipCredentials: async () => credentials }, ringtone, ringtone);
      const state: PageState = { phone, ringtone, calls: [], samples: [] };
      w.__tones = state;
      phone.addEventListener('change', () => {
        const call = phone.state.call;
        const last = state.calls[state.calls.length - 1];
        if (call && (!last || last.state !== call.state || last.remoteRinging !== call.remoteRinging))
          state.calls.push({ ...call, at: Date.now() });
      });
      ringtone.unlock();
      // Two taps on the Ringtone's output: a short window for the level, a long one for the pitch.
      const level = ringtone.monitor()!;
      level.fftSize = 1024;
      const pitch = ringtone.monitor()!;
      pitch.fftSize = 8192;
      pitch.smoothingTimeConstant = 0;
      const samples = new Float32Array(level.fftSize);
      const spectrum = new Float32Array(pitch.frequencyBinCount);
      const binHz = pitch.context.sampleRate / pitch.fftSize;
      setInterval(() => {
        level.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const sample of samples) sum += sample * sample;
        pitch.getFloatFrequencyData(spectrum);
        let best = 0;
        for (let i = 1; i < spectrum.length; i += 1) if (spectrum[i]! > spectrum[best]!) best = i;
        state.samples.push({
          at: Date.now(),
          rms: Math.sqrt(sum / samples.length),
          hz: best * binHz,
          tone: ringtone.tone ?? null,
          ringing: ringtone.playing,
        });
      }, 20);
      phone.use(workstation);
    },
    { workstation: WORKSTATION, credentials },
  );
  await page.waitForFunction(
    () => (window as unknown as TonesWindow).__tones.phone.state.registration.status === 'registered',
    undefined,
    { timeout: TIMEOUT },
  );
  await page.waitForFunction(() => !(window as unknown as TonesWindow).__tones.ringtone.blocked, undefined, {
    timeout: TIMEOUT,
  });
}

interface Context {
  path: CallPath;
  trunk: TrunkPhone;
  server: { url: string; close(): Promise<void> };
  browser: TestBrowser;
  page: Page;
}

const test = suite<Context>('the tones of a callback, as played');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}` } });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.server = await startPageServer();
  context.browser = await launchBrowser({ args: ['--autoplay-policy=no-user-gesture-required'] });
  const { kamailio } = context.path;
  const credentials = await workstationCredentials(kamailio, WORKSTATION.id);
  context.page = await context.browser.context.newPage();
  await openPhone(context.page, context.server.url, credentials);
});

test.after(async (context) => {
  await context.browser?.close();
  await context.server?.close();
  await context.trunk?.close();
  await context.path?.stop();
});

test.before.each(async (context) => {
  await context.page.evaluate(() => {
    const state = (window as unknown as TonesWindow).__tones;
    state.calls = [];
    state.samples = [];
  });
});

const samples = (page: Page, since = 0): Promise<Sample[]> =>
  page.evaluate((since) => (window as unknown as TonesWindow).__tones.samples.filter((s) => s.at >= since), since);

const tone = (page: Page): Promise<string | null> =>
  page.evaluate(() => (window as unknown as TonesWindow).__tones.ringtone.tone ?? null);

async function waitForCall(page: Page, what: string, match: (call: CallRecord) => boolean): Promise<CallRecord> {
  return waitFor(
    what,
    async () => (await page.evaluate(() => (window as unknown as TonesWindow).__tones.calls)).find(match),
    TIMEOUT,
  );
}

/** Polls until a sample after `since` satisfies `match` (the page's clock is this machine's). */
function waitForSample(
  page: Page,
  what: string,
  since: number,
  match: (s: Sample) => boolean,
  timeoutMs = TIMEOUT,
): Promise<Sample> {
  return waitFor(what, async () => (await samples(page, since)).find(match), timeoutMs);
}

const isTone = (s: Sample): boolean => s.rms > LOUD && Math.abs(s.hz - TONE_HZ) <= HZ_TOLERANCE;

/** The runs of loud samples (a gap of more than 150 ms between loud samples splits them). */
function bursts(list: Sample[]): Array<{ from: number; to: number }> {
  const runs: Array<{ from: number; to: number }> = [];
  for (const s of list) {
    if (s.rms <= LOUD) continue;
    const last = runs[runs.length - 1];
    if (last && s.at - last.to <= 150) last.to = s.at;
    else runs.push({ from: s.at, to: s.at });
  }
  return runs;
}

/** Nothing but the 425 Hz tones was heard, and the incoming ringtone never played. */
function assertOnlyTones(list: Sample[]): void {
  assert.ok(list.length > 0, 'samples were taken');
  assert.not.ok(
    list.some((s) => s.ringing),
    'the incoming ringtone never plays during an outgoing call',
  );
  const other = list.filter((s) => s.rms > LOUD && !isTone(s));
  assert.is(
    other.length,
    0,
    `only ${TONE_HZ} Hz heard; also: ${other
      .slice(0, 3)
      .map((s) => `${s.hz.toFixed(0)} Hz @${s.rms.toFixed(3)}`)
      .join(', ')}`,
  );
}

test("the patient's phone rings: 425 Hz, 1 s on, 4 s off, until the answer silences it within 200 ms", async ({
  path,
  trunk,
  page,
}) => {
  const media = await PatientPhone.open();
  try {
    const { target } = await grantCallback(path.redis, {
      domain: path.kamailio.domain,
      sipUser: `ws-${WORKSTATION.id}`,
    });
    const startedAt = Date.now();
    assert.ok(
      await page.evaluate(
        ({ target, number }) => (window as unknown as TonesWindow).__tones.phone.call(target, { number }),
        { target, number: CALLBACK_NUMBER },
      ),
    );
    const atTrunk = await trunk.nextCall(TIMEOUT);
    // Before the 180: silence (nothing rings yet).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.is(
      (await samples(page, startedAt)).filter((s) => s.rms > LOUD).length,
      0,
      "silent before the patient's phone rings",
    );
    atTrunk.ring();
    const ringing = await waitForCall(page, 'remote ringing', (c) => c.remoteRinging === true);
    assert.is(ringing.state, 'connecting');
    const first = await waitForSample(page, 'the ringback tone', ringing.at, isTone, 5_000);
    assert.is(await tone(page), 'ringback');
    // The first beep ends after about a second, the next starts about 5 s after the first.
    const second = await waitForSample(page, 'the second ringback beep', first.at + 2_000, isTone, 8_000);
    const [beep] = bursts((await samples(page, first.at)).filter((s) => s.at < second.at));
    assert.ok(beep, 'the first beep');
    const onMs = beep.to - beep.from;
    const cycleMs = second.at - first.at;
    assert.ok(onMs > 800 && onMs < 1_250, `the beep lasts ${onMs} ms`);
    assert.ok(cycleMs > 4_700 && cycleMs < 5_300, `a beep every ${cycleMs} ms`);

    // Answer during the second beep, while the tone is audible.
    const answeredAt = Date.now();
    await atTrunk.answer(patientSdp(media.port));
    const inCall = await waitForCall(page, 'in call', (c) => c.state === 'in-call');
    await waitFor(
      '400 ms of samples after the answer',
      async () => (await samples(page, answeredAt + 400)).length > 0,
      TIMEOUT,
    );
    const after = await samples(page, answeredAt);
    const lastLoud = after.filter((s) => s.rms > LOUD).pop();
    const stoppedMs = lastLoud ? lastLoud.at - answeredAt : 0;
    console.log(
      `  180 -> ringback heard ${first.at - ringing.at} ms; beep ${onMs} ms every ${cycleMs} ms; ` +
        `200 at the trunk -> in call ${inCall.at - answeredAt} ms, last ringback sample ${stoppedMs} ms after the 200`,
    );
    assert.ok(stoppedMs <= 200, `ringback heard ${stoppedMs} ms after the answer`);
    assert.is(await tone(page), null);
    assertOnlyTones(await samples(page, startedAt));

    await page.evaluate(() => (window as unknown as TonesWindow).__tones.phone.hangUp());
    await atTrunk.waitForBye(TIMEOUT);
    await waitForCall(page, 'ended', (c) => c.state === 'ended');
  } finally {
    media.close();
  }
});

test("the patient's line is busy (486): the busy tone, 425 Hz 0.5 s on, 0.5 s off, three times, then silence", async ({
  path,
  trunk,
  page,
}) => {
  const { target } = await grantCallback(path.redis, { domain: path.kamailio.domain, sipUser: `ws-${WORKSTATION.id}` });
  const startedAt = Date.now();
  assert.ok(
    await page.evaluate(
      ({ target, number }) => (window as unknown as TonesWindow).__tones.phone.call(target, { number }),
      { target, number: CALLBACK_NUMBER },
    ),
  );
  const atTrunk = await trunk.nextCall(TIMEOUT);
  await atTrunk.refuse(486, 'Busy Here');
  const ended = await waitForCall(page, 'ended', (c) => c.state === 'ended');
  assert.is(ended.endReason, 'The line is busy.');
  await waitForSample(page, 'the busy tone', ended.at - 50, isTone, 3_000);
  // Three beeps take 2.5 s; then at least 1.5 s of silence.
  await waitFor(
    '4.5 s of samples after the busy',
    async () => (await samples(page, ended.at + 4_500)).length > 0,
    TIMEOUT,
  );
  const list = await samples(page, ended.at - 50);
  const beeps = bursts(list);
  console.log(`  486 -> busy beeps at ${beeps.map((b) => `+${b.from - ended.at}..${b.to - ended.at}`).join(', ')} ms`);
  assert.is(beeps.length, 3, 'three beeps');
  for (const b of beeps) assert.ok(b.to - b.from > 350 && b.to - b.from < 700, `a beep of ${b.to - b.from} ms`);
  assert.ok(beeps[0]!.from - ended.at < 500, 'the busy tone starts at once');
  for (let i = 1; i < beeps.length; i += 1) {
    const gap = beeps[i]!.from - beeps[i - 1]!.from;
    assert.ok(gap > 800 && gap < 1_200, `beeps ${gap} ms apart`);
  }
  assert.ok(beeps[2]!.to - ended.at < 3_200, 'then silence');
  assert.is(await tone(page), null);
  assertOnlyTones(await samples(page, startedAt));
});

test('nobody answers (480 after ringing): the ringback stops and a short error tone plays, then silence', async ({
  path,
  trunk,
  page,
}) => {
  const { target } = await grantCallback(path.redis, { domain: path.kamailio.domain, sipUser: `ws-${WORKSTATION.id}` });
  const startedAt = Date.now();
  assert.ok(
    await page.evaluate(
      ({ target, number }) => (window as unknown as TonesWindow).__tones.phone.call(target, { number }),
      { target, number: CALLBACK_NUMBER },
    ),
  );
  const atTrunk = await trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  const ringing = await waitForCall(page, 'remote ringing', (c) => c.remoteRinging === true);
  const first = await waitForSample(page, 'the ringback tone', ringing.at, isTone, 5_000);
  // During the first beep's silence, so that what follows is the error tone's alone.
  await waitForSample(page, 'the first beep to end', first.at + 1_300, (s) => s.rms < LOUD / 3, 5_000);
  await atTrunk.refuse(480, 'Temporarily Unavailable');
  const ended = await waitForCall(page, 'ended', (c) => c.state === 'ended');
  assert.is(ended.endReason, 'Nobody answered.');
  await waitFor(
    '3 s of samples after the end',
    async () => (await samples(page, ended.at + 3_000)).length > 0,
    TIMEOUT,
  );
  const beeps = bursts(await samples(page, ended.at - 50));
  console.log(`  480 -> error beeps at ${beeps.map((b) => `+${b.from - ended.at}..${b.to - ended.at}`).join(', ')} ms`);
  assert.is(beeps.length, 3, 'three short beeps');
  for (const b of beeps) assert.ok(b.to - b.from > 100 && b.to - b.from < 400, `a beep of ${b.to - b.from} ms`);
  assert.ok(beeps[2]!.to - ended.at < 1_800, 'then silence');
  assert.is(await tone(page), null);
  assertOnlyTones(await samples(page, startedAt));
});

test('the employee hangs up while it rings: the ringback stops at once, no error tone', async ({
  path,
  trunk,
  page,
}) => {
  const { target } = await grantCallback(path.redis, { domain: path.kamailio.domain, sipUser: `ws-${WORKSTATION.id}` });
  const startedAt = Date.now();
  assert.ok(
    await page.evaluate(
      ({ target, number }) => (window as unknown as TonesWindow).__tones.phone.call(target, { number }),
      { target, number: CALLBACK_NUMBER },
    ),
  );
  const atTrunk = await trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  const ringing = await waitForCall(page, 'remote ringing', (c) => c.remoteRinging === true);
  await waitForSample(page, 'the ringback tone', ringing.at, isTone, 5_000);
  const hungUpAt = Date.now();
  await page.evaluate(() => (window as unknown as TonesWindow).__tones.phone.hangUp());
  await atTrunk.waitForCancel(TIMEOUT);
  await waitForCall(page, 'ended', (c) => c.state === 'ended');
  await waitFor(
    '2 s of samples after the hang-up',
    async () => (await samples(page, hungUpAt + 2_000)).length > 0,
    TIMEOUT,
  );
  const loud = (await samples(page, hungUpAt)).filter((s) => s.rms > LOUD);
  const lastMs = loud.length ? loud[loud.length - 1]!.at - hungUpAt : 0;
  assert.ok(lastMs <= 200, `ringback heard ${lastMs} ms after the hang-up`);
  assert.is(await tone(page), null);
  assertOnlyTones(await samples(page, startedAt));
});

test.run();
