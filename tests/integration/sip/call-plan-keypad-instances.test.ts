/**
 * The keypad with two sip app instances on one host (docker-compose.scale.yml): rtpengine sends every
 * key to one UDP port, which the kernel hands to one of the two instances; a key for a call the other
 * instance holds reaches it through Redis (KeyRelay). Every caller's key counts, whoever holds the call.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import { callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import { HOLD_MUSIC_HZ, PROMPT_TONES, ownerOf } from '../../helpers/call-path.js';

const test = suite<CallPlanContext>('call plan: keys with two sip app instances');
callPlanHooks(test, { SKIP_INTRO: 'true' }, 2);

test('the callback key works for calls of both instances: a key reaching the instance that does not hold the call is passed on', async (context) => {
  const { path, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, keypad: { callbackDigit: '7', voicemailDigit: null } });
  const owners = new Set<string | null>();
  for (let i = 0; i < 4; i++) {
    const { media, dialog, id } = await patientCalls(context, `+4860000000${i}`);
    await events.waitFor({ callId: id, state: 'waiting' });
    owners.add(await ownerOf(path, id));
    await media.waitForTone(HOLD_MUSIC_HZ, 3_000);
    const pressedAt = Date.now();
    await media.pressKey('7');
    const asked = await events.waitFor({ callId: id, state: 'callback-requested' }, 3_000);
    console.log(`  call ${i + 1}: key to callback-requested ${asked.at - pressedAt} ms`);
    await media.waitForTone(PROMPT_TONES['callback-confirmed'].hz, 3_000);
    await dialog.waitForBye(5_000);
  }
  assert.is(owners.size, 2, 'the calls went to both instances, so one of them had its keys passed on');
});

test.run();
