import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../../helpers/wait.js';
import { activeCallIds, describeSipp, readCall, recordedStates, sipCallIdOf, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { NgGate } from './ng-gate.js';
import { PatientPhone } from '../../helpers/patient-phone.js';

const test = suite<{ path: CallPath; gate: NgGate }>('calls that end before the queue');

test.before(async (context) => {
  context.path = await startCallPath({
    // As the launcher runs it: a stop ends the calls (without it, they are left to the next instance:
    // graceful-restart.test.ts).
    appEnv: { SIP_END_CALLS_ON_STOP: 'true' },
    ngPortForApp: async (rtpenginePort) => {
      context.gate = await NgGate.open(rtpenginePort);
      return context.gate.port;
    },
  });
});

test.after(async (context) => {
  await context.path?.stop();
  context.gate?.close();
});

test('a CANCEL while rtpengine is still answering gets 487; the late media is deleted, nothing reaches Redis', async ({ path, gate }) => {
  gate.hold('offer');
  let sipCallId: string;
  try {
    const result = await path.sipp('uac-cancel-before-answer.xml', { keys: { rtp_port: 9 } });
    assert.is(result.code, 0, describeSipp(result));
    sipCallId = sipCallIdOf(result);
  } finally {
    gate.release();
  }
  const ended = await path.app.waitForLog('the cancelled call to end', (line) => line.msg === 'call ended' && line['sipCallId'] === sipCallId);
  assert.is(ended['reason'], 'cancelled');
  assert.ok(gate.commands.includes('offer'), 'the offer did reach rtpengine, after the CANCEL');
  assert.is(gate.commands[gate.commands.length - 1], 'delete', 'and was deleted afterwards');
  assert.equal(await path.rtpengine.list(), []);
  assert.equal(await activeCallIds(path.redis), []);
  assert.equal(await recordedStates(path.redis, ended['callId'] as string), []);
});

test('with SIP_END_CALLS_ON_STOP the sip app ends its calls with BYE when it stops: abandoned in Redis, rtpengine released, exit 0', async ({ path }) => {
  const phone = await PatientPhone.open();
  try {
    const call = path.sipp('uac-invite-expect-bye-from-queue.xml', { keys: { rtp_port: phone.port } });
    await phone.waitUntil('the intro', (received) => (received.length > 10 ? true : undefined), 5_000);
    const [id] = await waitFor('the call in calls:active', async () => {
      const ids = await activeCallIds(path.redis);
      return ids.length === 1 ? ids : undefined;
    });
    const status = await path.app.stop();
    assert.equal(status, { code: 0, signal: null });
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    assert.is((await readCall(path.redis, id as string))?.state, 'abandoned');
    assert.equal(await activeCallIds(path.redis), []);
    assert.equal(await path.rtpengine.list(), []);
    assert.ok(path.app.logs.some((line) => line.msg === 'call ended' && line['reason'] === 'shutdown'));
  } finally {
    phone.close();
  }
});

test.run();
