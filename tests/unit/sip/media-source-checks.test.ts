/**
 * Every offer and answer the sip app sends rtpengine carries the source checks for the peer whose SDP
 * it carries (docs/security.md, "Media"): a plain RTP peer's (trunk, desk phone, the queue's
 * placeholder) gets `strict source` and `endpoint-learning-off`, a browser's gets neither. rtpengine
 * applies them to the streams of the carried SDP and clears them when a command leaves them out, so
 * one command without them would reopen the call. A fake engine records the commands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { CallbackMedia } from '@deskline/sip/media/callback-media';
import type { FlagSet } from '@deskline/sip/media/flags';
import { MediaSession } from '@deskline/sip/media/media-session';
import type { OfferAnswer, RtpEngine } from '@deskline/sip/media/rtpengine';

const PLAIN_CHECKS = ['strict source', 'endpoint-learning-off'];

interface Command {
  command: 'offer' | 'answer';
  sdp: string;
  flags: FlagSet;
}

/** An RtpEngine that answers every offer and answer with an SDP of its own, and records them. */
function recordingEngine(): { engine: RtpEngine; commands: Command[] } {
  const commands: Command[] = [];
  const reply = (port: number): string =>
    [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} RTP/AVP 0`,
      'a=sendrecv',
      '',
    ].join('\r\n');
  const engine = {
    offer: async (request: OfferAnswer) => {
      commands.push({ command: 'offer', sdp: request.sdp, flags: request.flags });
      return reply(30000);
    },
    answer: async (request: OfferAnswer) => {
      commands.push({ command: 'answer', sdp: request.sdp, flags: request.flags });
      return reply(30002);
    },
    delete: async () => undefined,
    deleteBranch: async () => undefined,
    playMedia: async () => ({ durationMs: undefined }),
    stopMedia: async () => undefined,
  } as unknown as RtpEngine;
  return { engine, commands };
}

const flagsOf = (set: FlagSet): string[] => (Array.isArray(set['flags']) ? (set['flags'] as string[]) : []);

function sdpFrom(who: string, port: number, browser = false): string {
  return [
    'v=0',
    `o=${who} 1 1 IN IP4 192.0.2.10`,
    's=-',
    'c=IN IP4 192.0.2.10',
    't=0 0',
    `m=audio ${port} ${browser ? 'UDP/TLS/RTP/SAVPF 111' : 'RTP/AVP 0'}`,
    ...(browser
      ? ['a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuv', 'a=fingerprint:sha-256 00', 'a=setup:actpass']
      : []),
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** Asserts each recorded command's checks by who its SDP came from (the o= user names them here). */
function assertChecks(commands: readonly Command[]): void {
  assert.ok(commands.length > 0);
  for (const { command, sdp, flags } of commands) {
    const from = /^o=(\S+)/m.exec(sdp)?.[1] ?? '';
    const set = flagsOf(flags);
    const browser = from.startsWith('browser');
    for (const check of PLAIN_CHECKS) {
      assert.is(
        set.includes(check),
        !browser,
        `${command} carrying ${from}'s SDP: ${check} ${browser ? 'must not be' : 'must be'} set (${set.join(', ')})`,
      );
    }
    assert.not.ok('endpoint-learning' in flags, 'the key form is ignored by rtpengine 10.5.3.5');
  }
}

test("a patient's call: queue, a desk phone and a browser rung, the browser answers, the patient re-INVITEs", async () => {
  const { engine, commands } = recordingEngine();
  const media = new MediaSession(engine, 'call-1', 'patient-tag', pino({ level: 'silent' }));
  await media.answerForQueue(sdpFrom('patient', 4000));
  await media.offerToAgent('phone-tag', 'sip-phone');
  await media.offerToAgent('browser-tag', 'browser');
  await media.dropAgent('phone-tag');
  await media.answerFromAgent('browser-tag', sdpFrom('browser-1', 5000, true));
  await media.patientOffer(sdpFrom('patient', 4100).replace(' 1 1 IN', ' 1 2 IN'));
  // The placeholder is the queue's plain RTP "peer": the answer carrying it is checked as plain.
  const placeholder = commands.find((c) => /s=deskline-queue/.test(c.sdp));
  assert.ok(placeholder, 'the queue answered with its placeholder');
  assertChecks(commands.map((c) => (c === placeholder ? { ...c, sdp: c.sdp.replace(/^o=\S+/m, 'o=queue') } : c)));
  assert.is(commands.length, 7);
});

test("a patient's call answered at a desk phone, then re-INVITEd", async () => {
  const { engine, commands } = recordingEngine();
  const media = new MediaSession(engine, 'call-2', 'patient-tag', pino({ level: 'silent' }));
  await media.answerForQueue(sdpFrom('patient', 4000));
  await media.offerToAgent('phone-tag', 'sip-phone');
  await media.answerFromAgent('phone-tag', sdpFrom('phone', 6000));
  await media.patientOffer(sdpFrom('patient', 4100).replace(' 1 1 IN', ' 1 2 IN'));
  assertChecks(commands.map((c) => ({ ...c, sdp: c.sdp.replace(/^o=-/m, 'o=queue') })));
});

test("a callback: the browser's offer (no checks) and the trunk's answer (checked)", async () => {
  const { engine, commands } = recordingEngine();
  const media = new CallbackMedia(engine, 'callback-1', 'browser-tag', pino({ level: 'silent' }));
  await media.offerToTrunk(sdpFrom('browser-1', 5000, true));
  await media.answerFromTrunk('trunk-tag', sdpFrom('trunk', 7000));
  assertChecks(commands);
  assert.is(commands.length, 2);
});

test("a late offer: the stand-in offer and the queue's answer, then the patient's answer from the ACK, each with the plain checks; an answer without PCMU or PCMA reaches nothing", async () => {
  const { engine, commands } = recordingEngine();
  const media = new MediaSession(engine, 'call-3', 'patient-tag', pino({ level: 'silent' }));
  const offer = await media.offerForPatient();
  assert.match(offer, /^m=audio 30002 /m, "rtpengine's port for the patient is our offer");
  assert.equal(
    commands.map((c) => c.command),
    ['offer', 'answer'],
  );
  assert.match(commands[0]?.sdp ?? '', /^c=IN IP4 127\.0\.0\.1\r?$/m, 'the stand-in is the loopback placeholder');

  const g722 = sdpFrom('patient', 4000).replace('RTP/AVP 0', 'RTP/AVP 9');
  await media.patientAnswer(g722).then(
    () => assert.unreachable('an answer without PCMU or PCMA is refused'),
    (err: unknown) => assert.is((err as Error).name, 'NoCarriedAudioError'),
  );
  assert.is(commands.length, 2, 'nothing reached rtpengine');

  // Even an answer that echoes the stand-in's o= line is taken: the stand-in describes no one.
  const echo = sdpFrom('patient', 4000).replace(/^o=.*$/m, (commands[0]?.sdp ?? '').match(/^o=.*$/m)?.[0] ?? '');
  await media.patientAnswer(echo);
  assert.equal(
    commands.map((c) => c.command),
    ['offer', 'answer', 'offer', 'answer'],
  );
  assert.match(commands[2]?.sdp ?? '', /^m=audio 4000 /m, "the patient's answer goes to rtpengine as an offer");
  assertChecks(commands.map((c) => ({ ...c, sdp: c.sdp.replace(/^o=-/m, 'o=placeholder') })));
  assert.is(media.snapshot().patientSdp, echo, "a restarted sip app has the patient's description");
});

test.run();
