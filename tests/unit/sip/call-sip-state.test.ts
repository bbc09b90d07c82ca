import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callSipStateFromHash, callSipStateToHash, type CallSipState } from '@deskline/sip/calls/call-sip-state';

const dialog = {
  callId: 'a84b4c76e66710@pc33',
  localTag: 'ud62u8qhpv',
  remoteTag: '5683SIPpTag001',
  localSequenceNumber: 7,
  remoteSequenceNumber: 2,
  localUri: 'sip:100@127.0.0.1:5060',
  remoteUri: 'sip:+4915112345678@127.0.0.1:5060',
  remoteTarget: 'sip:+4915112345678@127.0.0.1:5060',
  routeSet: ['<sip:127.0.0.1:5060;r2=on;lr=on>', '<sip:127.0.0.1:5060;transport=tcp;r2=on;lr=on>'],
};

const state: CallSipState = {
  patient: dialog,
  agent: { ...dialog, localSequenceNumber: 1, remoteSequenceNumber: null },
  media: {
    patientTag: '5683SIPpTag001',
    patientSdp: 'v=0\r\n',
    queueSdp: 'v=0\r\n',
    sentToPatient: { sessionId: 1795635462434, version: 2, sdp: 'v=0\r\n' },
    agent: { tag: 'agent-1', sdp: 'v=0\r\n' },
  },
  ring: {
    tag: 'agent-2',
    requestUri: 'sip:ws-1@deskline.local',
    via: 'SIP/2.0/TCP 127.0.0.1:5070;alias;branch=z9hG4bK1',
    from: '<sip:+49@deskline.local>;tag=x',
    to: '<sip:ws-1@deskline.local>',
    callId: 'c1',
    cseq: 1,
  },
};

test('what is written is read back as it was', () => {
  assert.equal(callSipStateFromHash(callSipStateToHash(state)), state);
});

test('a damaged or foreign field is left out, the others stay', () => {
  const hash = callSipStateToHash(state);
  const read = callSipStateFromHash({
    ...hash,
    patient: '{"callId":"x"}',
    agent: 'not json',
    ring: JSON.stringify({ ...state.ring, cseq: '1' }),
  });
  assert.equal(Object.keys(read).sort(), ['media']);
  assert.equal(callSipStateFromHash({}), {});
  assert.equal(callSipStateFromHash({ media: JSON.stringify({ ...state.media, sentToPatient: null }) }), {});
});
test.run();
