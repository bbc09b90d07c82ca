/**
 * The browser phone's call table (web/src/services/phone-call-state.ts), and a call driven through it
 * by its JsSIP session's events: every legal move is taken, every other one throws.
 */
import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RTCSession } from 'jssip/lib/RTCSession.js';

const { PHONE_CALL_STATES, assertPhoneCallMove, canMovePhoneCall } =
  await import('@deskline/web/build/services/phone-call-state.js');
const { PhoneCallSession } = await import('@deskline/web/build/services/phone-call-session.js');

type State = (typeof PHONE_CALL_STATES)[number];

/** The table as the product describes it (web/src/services/phone-call-state.ts's diagram). */
const LEGAL: ReadonlyArray<[State, State]> = [
  ['ringing', 'connecting'],
  ['ringing', 'ended'],
  ['connecting', 'in-call'],
  ['connecting', 'ended'],
  ['in-call', 'ended'],
];

const isLegal = (from: State, to: State): boolean => LEGAL.some(([a, b]) => a === from && b === to);

test('every legal move is allowed', () => {
  for (const [from, to] of LEGAL) {
    assert.ok(canMovePhoneCall(from, to), `${from} -> ${to}`);
    assertPhoneCallMove(from, to);
  }
});

test('every other move throws, naming it', () => {
  let illegal = 0;
  for (const from of PHONE_CALL_STATES) {
    for (const to of PHONE_CALL_STATES) {
      if (isLegal(from, to)) continue;
      illegal += 1;
      assert.not.ok(canMovePhoneCall(from, to), `${from} -> ${to}`);
      assert.throws(
        () => assertPhoneCallMove(from, to),
        new RegExp(`illegal phone call state change ${from} -> ${to}$`),
      );
    }
  }
  assert.is(illegal, PHONE_CALL_STATES.length ** 2 - LEGAL.length);
});

test('nothing leads out of ended', () => {
  for (const to of PHONE_CALL_STATES) assert.throws(() => assertPhoneCallMove('ended', to));
});

/** Enough of JsSIP's RTCSession for a call: its events, and answer/terminate that succeed or throw. */
class FakeSession extends EventEmitter {
  readonly id = 'session-1';
  answered = 0;
  answerThrows = false;
  answer(): void {
    this.answered += 1;
    if (this.answerThrows) throw new Error('no microphone');
  }
  isEnded(): boolean {
    return false;
  }
  isEstablished(): boolean {
    return true;
  }
  terminate(): void {
    this.emit('ended', { originator: 'local', cause: 'Terminated' });
  }
}

function incoming(session: FakeSession) {
  const seen: string[] = [];
  const ended: boolean[] = [];
  const call = PhoneCallSession.incoming(
    session as unknown as RTCSession,
    { id: session.id, number: '+4930123' },
    {
      changed: () => seen.push(call.view.state),
      ended: (_call, show) => ended.push(show),
    },
  );
  return { call, seen, ended };
}

test('an incoming call: ringing, connecting on answer, in-call on the ACK, ended when hung up', () => {
  const session = new FakeSession();
  const { call, seen, ended } = incoming(session);
  assert.is(call.view.state, 'ringing');
  call.answer([]);
  assert.is(session.answered, 1);
  session.emit('confirmed');
  call.hangUp();
  assert.equal(seen, ['connecting', 'in-call']);
  assert.is(call.view.state, 'ended');
  assert.is(call.view.endReason, 'You ended the call.');
  assert.equal(ended, [true]);
});

test('a ringing call the caller gives up is gone, not shown as ended', () => {
  const session = new FakeSession();
  const { call, ended } = incoming(session);
  session.emit('failed', { originator: 'remote', cause: 'Canceled' });
  assert.is(call.view.state, 'ringing');
  assert.equal(ended, [false]);
});

test('an answer that fails ends the call from connecting, saying so', () => {
  const session = new FakeSession();
  session.answerThrows = true;
  const { call, seen } = incoming(session);
  call.answer([]);
  assert.equal(seen, ['connecting']);
  assert.is(call.view.state, 'ended');
  assert.is(call.view.endReason, 'The call could not be answered.');
});

test('an outgoing call: connecting (the far end ringing), in-call, ended by the patient', () => {
  const session = new FakeSession();
  const tones: string[] = [];
  const call = PhoneCallSession.outgoing(
    session as unknown as RTCSession,
    '+4930123',
    { changed: () => undefined, ended: () => undefined },
    {
      startRingback: () => tones.push('ringback'),
      stopTone: () => tones.push('stop'),
      playBusy: () => tones.push('busy'),
      playError: () => tones.push('error'),
    },
  );
  assert.is(call.view.state, 'connecting');
  session.emit('progress');
  assert.ok(call.view.remoteRinging);
  session.emit('accepted');
  session.emit('confirmed');
  assert.is(call.view.state, 'in-call');
  session.emit('ended', { originator: 'remote', cause: 'Terminated' });
  assert.is(call.view.state, 'ended');
  assert.is(call.view.endReason, 'The patient hung up.');
  assert.equal(tones, ['ringback', 'stop']);
});

test('an illegal move throws: an ACK for a call that was never answered', () => {
  const session = new FakeSession();
  const { call } = incoming(session);
  assert.throws(() => session.emit('confirmed'), /illegal phone call state change ringing -> in-call/);
  assert.is(call.view.state, 'ringing');
});

test('events after the end change nothing', () => {
  const session = new FakeSession();
  const { call, seen } = incoming(session);
  call.answer([]);
  session.emit('ended', { originator: 'remote', cause: 'Terminated' });
  session.emit('confirmed');
  session.emit('muted');
  assert.is(call.view.state, 'ended');
  assert.is(call.view.endReason, 'The caller hung up.');
  assert.not.ok(call.muted);
  assert.equal(seen, ['connecting']);
});

test.run();
