import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallbackStateMachine, outcomeOfFailure } from '@deskline/sip/callbacks/callback-state-machine';

test('a callback starts dialing; answered after ringing (or straight away), then ended', () => {
  const machine = new CallbackStateMachine();
  assert.is(machine.state, 'dialing');
  machine.moveTo('ringing');
  machine.moveTo('answered');
  assert.not.ok(machine.isEnded);
  machine.moveTo('ended');
  assert.ok(machine.isEnded);
  const quick = new CallbackStateMachine();
  quick.moveTo('answered');
  assert.is(quick.state, 'answered');
});

test('illegal moves throw: nothing leads out of ended, and no way back to ringing or dialing', () => {
  const ended = new CallbackStateMachine();
  ended.moveTo('ended');
  assert.throws(() => ended.moveTo('answered'), /illegal callback move ended -> answered/);
  const answered = new CallbackStateMachine();
  answered.moveTo('answered');
  assert.throws(() => answered.moveTo('ringing'));
  assert.throws(() => answered.moveTo('dialing'));
});

test("outcomes of the trunk's final responses", () => {
  assert.is(outcomeOfFailure(486, false), 'busy');
  assert.is(outcomeOfFailure(600, true), 'busy');
  assert.is(outcomeOfFailure(603, true), 'rejected');
  assert.is(outcomeOfFailure(480, false), 'no-answer');
  assert.is(outcomeOfFailure(487, true), 'no-answer');
  assert.is(outcomeOfFailure(408, true), 'no-answer');
  assert.is(outcomeOfFailure(408, false), 'failed', 'a trunk that never answered');
  assert.is(outcomeOfFailure(404, false), 'failed');
  assert.is(outcomeOfFailure(503, false), 'failed');
});

test.run();
