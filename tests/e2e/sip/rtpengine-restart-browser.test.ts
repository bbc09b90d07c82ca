/**
 * rtpengine killed (SIGKILL) and started again in the middle of a patient's conversation with a real
 * browser: headless Chromium runs JsSIP (ICE, DTLS-SRTP towards rtpengine), the patient is a SIP peer
 * over UDP with an RTP endpoint sending a 300 Hz tone. rtpengine gets the call back from its Redis
 * keyspace (RTPENGINE_REDIS_DB), and the audio resumes both ways at once: measured at the patient (the
 * longest time without a packet from the browser) and in the browser (the longest run of 20 ms
 * analyser readings of the patient's tone below audible). The new rtpengine has new ICE credentials
 * and a new DTLS certificate, which the sip app gives the browser in a re-INVITE; the browser keeps
 * hearing the patient past its ICE timeouts (without the re-INVITE it stopped after about 10 s).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { RESTART_GAP_LIMIT_MS, maxGap } from '../../helpers/callers.js';
import { workstationCredentials } from '../../helpers/kamailio.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone, packetsPerSecond } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';
import { BrowserPhone, PhonePageServer } from '../../helpers/browser-phone.js';

const TIMEOUT = 10_000;
/** An analyser reading at or above this is the patient's tone (it reads about 0.15). */
const AUDIBLE = 0.02;
const READING_MS = 20;

interface Context {
  path: CallPath;
  browser: TestBrowser;
  pages: PhonePageServer;
}

const test = suite<Context>('rtpengine restart in a conversation with a browser');

test.before(async (context) => {
  context.path = await startCallPath({ rtpengineKeyspace: true, appEnv: { SKIP_INTRO: 'true' } });
  context.pages = await PhonePageServer.start();
  context.browser = await launchBrowser();
});

test.after(async (context) => {
  await context.browser?.close();
  await context.pages?.close();
  await context.path?.stop();
});

/**
 * `userId` on a new browser workstation (`name`), available, and a patient calling the clinic line:
 * what each test needs, and `close()` for its `finally`.
 */
async function patientCallsBrowser({ path, browser, pages }: Context, userId: string, name: string) {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const workstation = await staff.workstation(name);
  const phone = await BrowserPhone.register(
    browser.context,
    pages.url,
    await workstationCredentials(path.kamailio, workstation.id),
    TIMEOUT,
  );
  await staff.available(userId, workstation.id);
  const media = await PatientPhone.open();
  const from = events.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  const close = async (): Promise<void> => {
    await dialog.close();
    media.close();
    await line.close();
    await events.close();
    await staff.leave(userId);
  };
  return { events, phone, media, from, dialog, close };
}

/** Waits until the call has gone on for `ms` more at `media`; resolves with its longest gap in that time. */
async function longestGapOver(media: PatientPhone, ms: number): Promise<number> {
  const from = Date.now();
  await media.waitUntil(
    `${ms / 1000} s more of the call`,
    (received) => received.some((p) => p.at > from + ms) || undefined,
    ms + 5_000,
  );
  return maxGap(media, from, Date.now());
}

/** The longest run of readings below AUDIBLE, in ms. */
function longestSilenceMs(readings: readonly number[]): number {
  let longest = 0;
  let run = 0;
  for (const reading of readings) {
    run = reading < AUDIBLE ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest * READING_MS;
}

test("the conversation resumes both ways within the gap goal, and goes on past the browser's ICE consent timeout", async (context) => {
  const { path } = context;
  const { events, phone, media, from, dialog, close } = await patientCallsBrowser(context, 'anna', 'Reception restart');
  try {
    const incoming = await phone.incoming(0, TIMEOUT);
    await phone.answer(TIMEOUT);
    await events.waitFor({ callId: incoming.callId ?? '', state: 'bridged', from }, TIMEOUT);
    await phone.heardAbove(AUDIBLE, TIMEOUT);
    const before = await phone.level(1000);
    assert.ok(before.min > AUDIBLE, `the browser hears the patient before: ${JSON.stringify(before)}`);

    // The browser's analyser records through the restart; rtpengine dies a second into it.
    const recording = phone.readings(5_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const killedAt = Date.now();
    await path.rtpengineProcess.crash();
    await path.rtpengineProcess.restart();
    const upAt = Date.now();
    const readings = await recording;
    const browserGap = longestSilenceMs(readings);
    const back = await media.waitUntil(
      "the browser's audio after the restart",
      (received) => received.find((p) => p.at > upAt),
      TIMEOUT,
    );
    const patientGap = maxGap(media, killedAt - 1_000, back.at + 1_000);
    const after = await phone.level(1000);
    const since = Date.now();
    const fromBrowser = await media.waitUntil(
      "a second of the browser's audio",
      (r) => ((r[r.length - 1]?.at ?? 0) - since >= 1_000 ? r.filter((p) => p.at >= since) : undefined),
      TIMEOUT,
    );
    console.log(
      `  rtpengine down ${upAt - killedAt} ms; the browser heard the patient's tone stop for ${browserGap} ms at most, the patient got nothing from the browser for ${patientGap} ms; ` +
        `then the browser hears RMS ${after.mean.toFixed(3)} (quietest 20 ms ${after.min.toFixed(3)}), the patient gets ${packetsPerSecond(fromBrowser).toFixed(1)} packets/s`,
    );
    assert.ok(browserGap < RESTART_GAP_LIMIT_MS, `the browser heard nothing for ${browserGap} ms`);
    assert.ok(patientGap < RESTART_GAP_LIMIT_MS, `the patient heard nothing for ${patientGap} ms`);
    assert.ok(after.min > AUDIBLE, `the browser hears the patient after: ${JSON.stringify(after)}`);
    // rtpengine's keyspace keeps the media but not its ICE credentials or DTLS certificate: without
    // the re-INVITE that gives the browser the new ones, Chromium stopped sending some 10 s later.
    const renegotiated = await path.app.waitForLog(
      'the browser to take the new ICE and DTLS',
      (l) => l.msg === "the agent's browser took rtpengine's new ICE and DTLS after the restart",
    );
    console.log(
      `  re-INVITE answered by the browser ${Number(renegotiated['time']) - upAt} ms after rtpengine answered again`,
    );

    // Past the browser's ICE consent freshness (30 s without answers to its checks ends the media).
    const lastingGap = await longestGapOver(media, 35_000);
    const lasting = await phone.level(1000);
    console.log(
      `  35 s later: the browser hears RMS ${lasting.mean.toFixed(3)} (quietest 20 ms ${lasting.min.toFixed(3)}); the patient's longest gap in those 35 s ${lastingGap} ms`,
    );
    assert.ok(lasting.min > AUDIBLE, `the browser still hears the patient: ${JSON.stringify(lasting)}`);
    assert.ok(lastingGap < 500, `the patient heard the browser without a break: ${lastingGap} ms`);

    await phone.hangUp();
    await dialog.waitForBye(TIMEOUT);
    await events.waitFor({ callId: incoming.callId ?? '', state: 'ended', from }, TIMEOUT);
  } finally {
    await close();
  }
});

test('a browser that rings through the restart and answers after it: both hear each other at once, and past its ICE timeouts', async (context) => {
  const { path } = context;
  const { events, phone, media, from, dialog, close } = await patientCallsBrowser(
    context,
    'bert',
    'Reception ringing restart',
  );
  try {
    // The ring's offer (ICE credentials, DTLS certificate) is the old rtpengine's when it is answered.
    const incoming = await phone.incoming(0, TIMEOUT);
    const logsFrom = path.app.logs.length;
    await path.rtpengineProcess.crash();
    await path.rtpengineProcess.restart();
    await path.app.waitForLog(
      'the sip app to notice the restart while it rings',
      (l) =>
        l.msg === 'rtpengine restarted with the call; restoring what the patient hears' && l['state'] === 'ringing',
      { from: logsFrom },
    );
    const { confirmedAt } = await phone.answer(TIMEOUT);
    await events.waitFor({ callId: incoming.callId ?? '', state: 'bridged', from }, TIMEOUT);
    await phone.heardAbove(AUDIBLE, TIMEOUT);
    const heardAt = Date.now();
    const back = await media.waitUntil(
      "the browser's audio after the answer",
      (received) => received.find((p) => p.at > confirmedAt),
      TIMEOUT,
    );
    console.log(
      `  answered after the restart: the browser hears the patient ${heardAt - confirmedAt} ms after its answer, the patient the browser after ${back.at - confirmedAt} ms`,
    );
    assert.ok(
      heardAt - confirmedAt < RESTART_GAP_LIMIT_MS,
      `the browser heard nothing for ${heardAt - confirmedAt} ms`,
    );
    assert.ok(
      back.at - confirmedAt < RESTART_GAP_LIMIT_MS,
      `the patient heard nothing for ${back.at - confirmedAt} ms`,
    );
    // Chromium gives up on a peer that fails its ICE checks some 10 s in: 15 s without a break.
    const lastingGap = await longestGapOver(media, 15_000);
    const lasting = await phone.level(1000);
    console.log(
      `  15 s later: the browser hears RMS ${lasting.mean.toFixed(3)} (quietest 20 ms ${lasting.min.toFixed(3)}); the patient's longest gap ${lastingGap} ms`,
    );
    assert.ok(lasting.min > AUDIBLE, `the browser still hears the patient: ${JSON.stringify(lasting)}`);
    assert.ok(lastingGap < 500, `the patient heard the browser without a break: ${lastingGap} ms`);

    await phone.hangUp();
    await dialog.waitForBye(TIMEOUT);
    await events.waitFor({ callId: incoming.callId ?? '', state: 'ended', from }, TIMEOUT);
  } finally {
    await close();
  }
});

test.run();
