import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CALL_STATES, type CallState } from '@deskline/protocol';
import { CallStateMachine } from '@deskline/sip/calls/call-state-machine';

function at(state: CallState): CallStateMachine {
  return new CallStateMachine(state);
}

test('a call starts in the intro', () => {
  assert.is(new CallStateMachine().state, 'intro');
});

test('the queue path: intro, waiting, then abandoned when the patient hangs up', () => {
  const machine = new CallStateMachine();
  machine.moveTo('waiting');
  assert.is(machine.state, 'waiting');
  assert.not.ok(machine.isFinal);
  machine.moveTo('abandoned');
  assert.ok(machine.isFinal);
});

test('the routing path: a ring that is not answered goes back to waiting; an answered one is bridged, then ended', () => {
  const machine = at('waiting');
  for (const state of ['ringing', 'waiting', 'ringing', 'bridged'] as const) {
    machine.moveTo(state);
    assert.is(machine.state, state);
    assert.not.ok(machine.isFinal);
  }
  machine.moveTo('ended');
  assert.ok(machine.isFinal);
});

test('hanging up while an agent is rung abandons the call', () => {
  const machine = at('ringing');
  machine.moveTo('abandoned');
  assert.ok(machine.isFinal);
});

test('hanging up during the intro abandons the call', () => {
  const machine = at('intro');
  machine.moveTo('abandoned');
  assert.is(machine.state, 'abandoned');
});

test('illegal moves throw and leave the state as it was', () => {
  const illegal: Array<[CallState, CallState]> = [
    ['intro', 'ringing'],
    ['intro', 'bridged'],
    ['intro', 'ended'],
    ['waiting', 'bridged'],
    ['waiting', 'intro'],
    ['bridged', 'abandoned'],
    ['abandoned', 'waiting'],
    ['ended', 'waiting'],
    ['waiting', 'waiting'],
  ];
  for (const [from, to] of illegal) {
    const machine = at(from);
    assert.throws(() => machine.moveTo(to), new RegExp(`illegal call state change ${from} -> ${to}`));
    assert.is(machine.state, from);
  }
});

test('nothing leads out of ended or abandoned', () => {
  for (const final of ['ended', 'abandoned'] as const) {
    for (const to of CALL_STATES) assert.throws(() => at(final).moveTo(to));
  }
});

test.run();
