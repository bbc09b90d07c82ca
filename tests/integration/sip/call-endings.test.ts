import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../../helpers/wait.js';
import {
  CLINIC_NUMBER,
  activeCallIds,
  describeSipp,
  readCall,
  recordedStates,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PendingCall } from '../../helpers/patient-line.js';
import { NgGate } from '../../helpers/ng-gate.js';
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

test('a CANCEL while rtpengine is still answering gets 487 from the sip app; the late media is deleted, nothing reaches Redis', async ({
  path,
  gate,
}) => {
  gate.hold('offer');
  const line = await PatientLine.open(path.kamailioPort);
  let call: PendingCall;
  try {
    call = line.ring({ line: CLINIC_NUMBER, rtpPort: 9 });
    // The patient hangs up once the sip app has the INVITE and waits for rtpengine. (sipp used to
    // CANCEL on Kamailio's 100 Trying, which Kamailio sends before it relays the INVITE: on a loaded
    // machine the CANCEL then overtook the INVITE inside Kamailio, which answered 487 itself, and
    // the sip app never saw the call.) The gate must open again within the sip app's ng retries
    // (1 s × 3 attempts, NgClient's product timer): a CANCEL's round trip takes a fraction of that.
    await waitFor("the sip app's offer held on its way to rtpengine", () => gate.commands.includes('offer'), 10_000);
    const { cancelled, final } = await call.cancel();
    assert.is(cancelled.status, 200);
    assert.is(final.status, 487);
    assert.is(final.reason, 'Request Terminated', "the sip app's 487, not Kamailio's");
  } finally {
    gate.release();
    await line.close();
  }
  const ended = await path.app.waitForLog(
    'the cancelled call to end',
    (entry) => entry.msg === 'call ended' && entry['sipCallId'] === call.invite.callId,
  );
  assert.is(ended['reason'], 'cancelled');
  assert.ok(gate.commands.includes('offer'), 'the offer did reach rtpengine, after the CANCEL');
  assert.is(gate.commands[gate.commands.length - 1], 'delete', 'and was deleted afterwards');
  assert.equal(await path.rtpengine.list(), []);
  assert.equal(await activeCallIds(path.redis), []);
  assert.equal(await recordedStates(path.redis, ended['callId'] as string), []);
});

test('with SIP_END_CALLS_ON_STOP the sip app ends its calls with BYE when it stops: abandoned in Redis, rtpengine released, exit 0', async ({
  path,
}) => {
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
