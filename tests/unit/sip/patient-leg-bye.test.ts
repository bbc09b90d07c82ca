/**
 * PatientLeg's moves around the patient's BYE, with a stand-in for SIP.js's session (the real race,
 * through Kamailio, is tests/integration/sip/bye-before-ack.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type {
  IncomingAckRequest,
  IncomingByeRequest,
  IncomingRequestMessage,
  Session,
  SessionDelegate,
} from 'sip.js/lib/core/index.js';
import { PatientLeg, type PatientLegEvents } from '@deskline/sip/calls/patient-leg';
import type { DialogServices } from '@deskline/sip/sip/sip-stack';

interface Leg {
  leg: PatientLeg;
  delegate: SessionDelegate;
  events: string[];
  byeAnswers: () => number;
  disposed: () => number;
}

function answeredLeg(): Leg {
  const events: string[] = [];
  let disposed = 0;
  const session = {
    id: 'dialog',
    delegate: undefined as SessionDelegate | undefined,
    dispose: () => void (disposed += 1),
  };
  const dialogs = {
    connected: true,
    contactHeader: 'Contact: <sip:app@127.0.0.1>',
    handleUpdates: () => () => undefined,
    ping: () => undefined,
  } as unknown as DialogServices;
  const record = (name: string) => () => void events.push(name);
  const handlers: PatientLegEvents = {
    onConfirmed: record('confirmed'),
    onAckTimeout: record('ack-timeout'),
    onNoAnswer: record('no-answer'),
    onHungUp: record('hung-up'),
    onVanished: record('vanished'),
    onChanged: record('changed'),
    onAliveAgain: record('alive-again'),
  };
  const media = {
    sdpForPatient: '',
    patientOffer: async () => '',
    patientAnswer: async () => undefined,
    packetsFromPatient: async () => undefined,
  };
  const leg = new PatientLeg(
    session as unknown as Session,
    { dialogs, media, keepaliveMs: 60_000, log: pino({ level: 'silent' }) },
    handlers,
  );
  let byeAnswers = 0;
  const bye = { accept: () => void (byeAnswers += 1) };
  return {
    leg,
    delegate: { ...session.delegate, onBye: () => session.delegate?.onBye?.(bye as unknown as IncomingByeRequest) },
    events,
    byeAnswers: () => byeAnswers,
    disposed: () => disposed,
  };
}

const ack = {
  message: { getHeader: () => undefined, body: '' } as unknown as IncomingRequestMessage,
} as IncomingAckRequest;

test('a bye before the ACK: answered, the leg ends once (the patient hung up), the dialog is dropped; the late ACK and the ACK wait changes nothing', () => {
  const { leg, delegate, events, byeAnswers, disposed } = answeredLeg();
  assert.is(leg.state, 'answered');
  delegate.onBye?.({} as IncomingByeRequest);
  assert.is(byeAnswers(), 1);
  assert.is(leg.state, 'ended');
  assert.equal(events, ['hung-up']);
  assert.is(disposed(), 1);
  // SIP.js's core drops the late ACK; were it handed on, it would still start nothing.
  void delegate.onAck?.(ack);
  delegate.onAckTimeout?.();
  delegate.onBye?.({} as IncomingByeRequest);
  assert.equal(events, ['hung-up'], 'no confirmation, no ACK timeout, no second hang-up');
  assert.is(byeAnswers(), 2, 'a retransmitted BYE is answered too');
  leg.handedOver();
  assert.is(disposed(), 1);
});

test('a bye right after the ACK: confirmed, then hung up', () => {
  const { leg, delegate, events } = answeredLeg();
  void delegate.onAck?.(ack);
  assert.is(leg.state, 'confirmed');
  delegate.onBye?.({} as IncomingByeRequest);
  assert.equal(events, ['confirmed', 'hung-up']);
  assert.is(leg.state, 'ended');
});

test.run();
