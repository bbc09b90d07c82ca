/**
 * Desk phone workstations through the real call path: a desk phone created the way a manager creates
 * one (its SIP user and generated password, HA1 in Redis), registered with Kamailio over UDP with
 * digest authentication (sipp, a test phone, baresip), rung by the sip app with a plain RTP offer,
 * bridged to the patient with audio both ways, and hung up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CreatedWorkstation } from '@deskline/protocol';
import { RedisChannels, RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { baresipDeskPhoneCommand } from '@deskline/scripts/demo-logins';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { header } from '../../helpers/sip-message.js';
import { describeSipp, runSipp } from '../../helpers/sipp.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PATIENT_TONE_HZ, PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

interface RegistrationEvent {
  user: string;
  registered: boolean;
}

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  registrations: ChannelRecorder<RegistrationEvent>;
  line: PatientLine;
  open: Array<{ close(): unknown }>;
  users: string[];
}

const REGISTER_SCENARIOS = path.join(REPO_ROOT, 'tests/integration/pbx-config/sipp');
/** baresip-desk-phone's tone (its config: audio_source ausine,600). */
const BARESIP_TONE_HZ = 600;

const test = suite<Context>('desk phone workstations');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '5' } });
  context.staff = new Staff(context.path.redis, context.path.kamailio.domain);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.registrations = await ChannelRecorder.subscribe<RegistrationEvent>(
    context.path.redisUrl,
    RedisChannels.sipRegistrations,
  );
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
  context.users = [];
});

test.after.each(async (context) => {
  try {
    for (const item of context.open.splice(0)) await item.close();
    for (const user of context.users.splice(0)) await context.staff.leave(user);
  } catch (err) {
    console.error('cleanup after the test failed:', err);
  }
});

test.after(async (context) => {
  await context.line?.close();
  context.registrations?.close();
  await context.events?.close();
  await context.path?.stop();
});

async function nothingLeft(context: Context): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0);
}

/** A desk phone workstation as a manager creates it, with `userId` on it and ready for calls. */
async function deskPhoneWith(
  context: Context,
  userId: string,
  name: string,
  sipUser: string,
): Promise<CreatedWorkstation & { sipPassword: string }> {
  const workstation = await context.staff.workstation(name, 'sip-phone', sipUser);
  if (!workstation.sipPassword) throw new Error('a desk phone is created with a SIP password');
  context.users.push(userId);
  await context.staff.available(userId, workstation.id);
  return { ...workstation, sipPassword: workstation.sipPassword };
}

async function patientCalls(
  context: Context,
): Promise<{ media: PatientPhone; dialog: PatientDialog; invitedAt: number }> {
  const media = await PatientPhone.open();
  context.open.push(media);
  const invitedAt = Date.now();
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  context.open.push(dialog);
  return { media, dialog, invitedAt };
}

function callIdOf(ring: IncomingRing): string {
  const id = header(ring.invite, 'x-deskline-call-id');
  if (!id) throw new Error(`the INVITE names no call:\n${ring.invite.raw}`);
  return id;
}

function receivedFor(phone: PatientPhone, what: string, since: number, ms: number): Promise<Received[]> {
  return phone.waitUntil(
    what,
    (received) => {
      const packets = received.filter((packet) => packet.at >= since);
      const last = packets[packets.length - 1];
      return last && last.at - since >= ms ? packets : undefined;
    },
    ms + 5000,
  );
}

function describe(packets: readonly Received[], hz: number): { pps: number; tone: number } {
  return {
    pps: packetsPerSecond(packets),
    tone: packets.filter((packet) => isTone(packet, hz)).length / Math.max(packets.length, 1),
  };
}

function registered(context: Context, user: string, yes = true): Promise<RegistrationEvent> {
  const from = context.registrations.messages.length;
  return context.registrations.waitFor(
    (event) => context.registrations.messages.indexOf(event) >= from && event.user === user && event.registered === yes,
    `${user} ${yes ? 'registered' : 'unregistered'}`,
    10_000,
  );
}

test('Kamailio registers the desk phone over UDP with the generated password (sipp); a wrong password is refused', async (context) => {
  const { path: callPath, staff } = context;
  const phone = await staff.workstation('Desk phone 210', 'sip-phone', '210');
  const sipp = (scenario: string, password: string, expires: number) =>
    runSipp({
      scenario: path.join(REGISTER_SCENARIOS, scenario),
      remoteHost: callPath.kamailio.host,
      remotePort: callPath.kamailioPort,
      keys: { user: '210', domain: callPath.kamailio.domain, expires: String(expires) },
      auth: { username: '210', password },
    });

  const wrong = await sipp('uac-register-wrong-password-expect-401.xml', 'not-the-password', 300);
  assert.is(wrong.code, 0, describeSipp(wrong));
  assert.is(await callPath.redis.exists(RedisKeys.sipRegistration('210')), 0, 'a wrong password registers nothing');

  const up = registered(context, '210');
  const right = await sipp('uac-register-with-digest-expect-200.xml', phone.sipPassword ?? '', 300);
  assert.is(right.code, 0, describeSipp(right));
  await up;
  assert.match((await callPath.redis.get(RedisKeys.sipRegistration('210'))) ?? '', /^sip:210@127\.0\.0\.1:\d+$/);

  const down = registered(context, '210', false);
  const off = await sipp('uac-register-with-digest-expect-200.xml', phone.sipPassword ?? '', 0);
  assert.is(off.code, 0, describeSipp(off));
  await down;
});

test("an employee at a registered desk phone: the patient's call rings the phone with a plain RTP offer; answered, audio flows both ways; the phone hangs up cleanly", async (context) => {
  const { path: callPath, staff, events } = context;
  const workstation = await deskPhoneWith(context, 'dora', 'Desk phone 211', '211');
  const phone = await AgentPhone.registerDeskPhone(callPath.kamailio, '211', workstation.sipPassword);
  context.open.push(phone);

  const from = events.mark();
  const { media, dialog, invitedAt } = await patientCalls(context);
  const ring = await phone.nextInvite();
  const rungAfter = ring.receivedAt - invitedAt;
  const id = callIdOf(ring);
  const ringing = await events.waitFor({ callId: id, state: 'ringing', from });
  assert.is(ringing.call.agentUserId, 'dora');
  assert.is(ringing.call.workstationId, workstation.id);
  assert.match(header(ring.invite, 'to') ?? '', new RegExp(`^<sip:211@${callPath.kamailio.domain}>`));

  // The offer is for a plain SIP phone: RTP/AVP with the patient's PCMU, no ICE, no DTLS, no WebRTC lines.
  const offer = ring.invite.body;
  assert.match(offer, /^m=audio \d+ RTP\/AVP 0 101\r$/m, offer);
  assert.match(offer, /^a=rtpmap:0 PCMU\/8000\r$/m);
  for (const webrtcOnly of [
    /UDP\/TLS/,
    /^a=fingerprint:/m,
    /^a=ice-/m,
    /^a=setup:/m,
    /^a=candidate:/m,
    /^a=rtcp-mux/m,
    /^a=msid/m,
    /^a=ssrc/m,
    /^a=mid:/m,
  ]) {
    assert.not.match(offer, webrtcOnly, `${webrtcOnly} in the offer to the desk phone`);
  }

  const ringingMusic = describe(
    await receivedFor(media, 'hold music while the desk phone rings', ring.receivedAt, 1000),
    HOLD_MUSIC_HZ,
  );
  assert.ok(ringingMusic.pps > 45 && ringingMusic.tone > 0.9, JSON.stringify(ringingMusic));

  const phoneMedia = await ring.answer();
  const answeredAt = Date.now();
  await events.waitFor({ callId: id, state: 'bridged', from });
  assert.is((await staff.agent('dora')).state, 'on-call');
  const firstTone = await media.waitUntil(
    "the desk phone's voice",
    (r) => r.find((p) => p.at >= answeredAt && isTone(p, AGENT_TONE_HZ)),
    3000,
  );
  const toPatient = describe(await receivedFor(media, 'a second of the desk phone', firstTone.at, 1000), AGENT_TONE_HZ);
  const toPhone = describe(
    await receivedFor(phoneMedia, 'a second of the patient', firstTone.at, 1000),
    PATIENT_TONE_HZ,
  );
  console.log(
    `  desk phone rung ${rungAfter} ms after the patient's INVITE; hold music while ringing ${ringingMusic.pps.toFixed(1)} pps; ` +
      `bridged: patient gets ${toPatient.pps.toFixed(1)} pps (${(toPatient.tone * 100).toFixed(0)}% phone tone), ` +
      `desk phone gets ${toPhone.pps.toFixed(1)} pps (${(toPhone.tone * 100).toFixed(0)}% patient tone)`,
  );
  assert.ok(rungAfter < 1000, `rung ${rungAfter} ms after the INVITE`);
  assert.ok(toPatient.pps > 45 && toPatient.pps < 55 && toPatient.tone > 0.9, JSON.stringify(toPatient));
  assert.ok(toPhone.pps > 45 && toPhone.pps < 55 && toPhone.tone > 0.9, JSON.stringify(toPhone));
  // PCMU passed through: the desk phone gets exactly the patient's payload type.
  assert.ok(phoneMedia.received.every((p) => p.payloadType === 0));

  const byeAnswer = await ring.hangUp();
  assert.is(byeAnswer.status, 200);
  await dialog.waitForBye();
  await events.waitFor({ callId: id, state: 'ended', from });
  assert.equal(events.states(id), ['intro', 'waiting', 'ringing', 'bridged', 'ended']);
  await waitFor('dora to be available again', async () => (await staff.agent('dora')).state === 'available');
  await nothingLeft(context);
});

test('a desk phone that is not registered is not rung: the call waits with music, and rings the phone once it registers', async (context) => {
  const { path: callPath, events } = context;
  const workstation = await deskPhoneWith(context, 'emil', 'Desk phone 212', '212');
  const from = events.mark();
  const { media, dialog } = await patientCalls(context);
  const waiting = await events.waitFor({ state: 'waiting', from });
  const id = waiting.call.id;
  const music = describe(await receivedFor(media, 'two seconds of hold music', waiting.at, 2000), HOLD_MUSIC_HZ);
  assert.ok(music.pps > 45 && music.pps < 55 && music.tone > 0.9, JSON.stringify(music));
  assert.not.ok(events.states(id).includes('ringing'), 'not rung');
  assert.is((await context.staff.agent('emil')).state, 'available');

  const registeringAt = Date.now();
  const phone = await AgentPhone.registerDeskPhone(callPath.kamailio, '212', workstation.sipPassword);
  context.open.push(phone);
  const ring = await phone.nextInvite(3000);
  console.log(
    `  hold music ${music.pps.toFixed(1)} pps; rung ${ring.receivedAt - registeringAt} ms after the desk phone began to register`,
  );
  assert.is(callIdOf(ring), id);

  await dialog.hangUp();
  await ring.waitForCancel();
  await events.waitFor({ callId: id, state: 'abandoned', from });
  await nothingLeft(context);
});

/** baresip, run as the README says (the command var/demo-logins.txt shows), on a port of its own. */
class BaresipDeskPhone {
  output = '';
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  static async start(callPath: CallPath, sipUser: string, sipPassword: string): Promise<BaresipDeskPhone> {
    // baresip writes into its folder: a copy, listening on a free port.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-baresip-desk-'));
    cpSync(path.join(REPO_ROOT, 'pbx-config/test-clients/baresip-desk-phone'), dir, { recursive: true });
    const config = path.join(dir, 'config');
    const sipPort = await freePort('127.0.0.1', ['udp', 'tcp']);
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(/^sip_listen\s.*$/m, `sip_listen\t\t127.0.0.1:${sipPort}`),
    );
    const command = baresipDeskPhoneCommand(
      { workstation: 'test', sipUser, sipPassword },
      { domain: callPath.kamailio.domain, listenHost: callPath.kamailio.host, sipPort: callPath.kamailioPort },
    );
    // The README's command, word for word but for the folder: baresip -f <folder> -e '/uanew …'.
    const account = /-e '(.*)'$/.exec(command)?.[1];
    if (!command.startsWith('baresip -f pbx-config/test-clients/baresip-desk-phone -e ') || !account)
      throw new Error(`unexpected command: ${command}`);
    const child = spawn('baresip', ['-f', dir, '-e', account], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    return new BaresipDeskPhone(child, dir);
  }

  waitForOutput(pattern: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
    return waitFor(what, () => pattern.test(this.output), timeoutMs).then(
      () => undefined,
      (err: Error) => {
        throw new Error(`${err.message}; baresip said:\n${this.output.slice(-3000)}`);
      },
    );
  }

  /** Ctrl-C: baresip unregisters and exits. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(killer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

test("baresip as the desk phone (the README's set-up): registers, answers by itself, both sides hear each other; the patient hangs up", async (context) => {
  const { path: callPath, events } = context;
  const workstation = await deskPhoneWith(context, 'fritz', 'Desk phone 213', '213');
  const up = registered(context, '213');
  const baresip = await BaresipDeskPhone.start(callPath, '213', workstation.sipPassword);
  context.open.push(baresip);
  await up;

  const from = events.mark();
  const { media, dialog, invitedAt } = await patientCalls(context);
  const bridged = await events.waitFor({ state: 'bridged', from }, 10_000).catch((err: Error) => {
    throw new Error(`${err.message}; baresip said:\n${baresip.output.slice(-3000)}`);
  });
  assert.is(bridged.call.agentUserId, 'fritz');
  const firstTone = await media.waitUntil(
    "baresip's tone",
    (r) => r.find((p) => p.at >= bridged.at && isTone(p, BARESIP_TONE_HZ)),
    5000,
  );
  const toPatient = describe(await receivedFor(media, 'a second of baresip', firstTone.at, 1000), BARESIP_TONE_HZ);
  console.log(
    `  baresip answered ${bridged.at - invitedAt} ms after the patient's INVITE; patient gets ${toPatient.pps.toFixed(1)} pps (${(toPatient.tone * 100).toFixed(0)}% baresip tone)`,
  );
  assert.ok(toPatient.pps > 45 && toPatient.pps < 55 && toPatient.tone > 0.9, JSON.stringify(toPatient));
  await baresip.waitForOutput(/incoming rtp for 'audio' established/, "baresip to receive the patient's audio");

  const byeAnswer = await dialog.hangUp();
  assert.is(byeAnswer.status, 200);
  await events.waitFor({ callId: bridged.call.id, state: 'ended', from });
  await baresip.waitForOutput(/terminated/i, 'baresip to end the call');
  await nothingLeft(context);

  const down = registered(context, '213', false);
  await baresip.close();
  await down;
});

test.run();
