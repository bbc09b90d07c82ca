import type { CallView } from '@deskline/protocol';
import type { PhoneCall } from './services/phone-call-session.js';

/** The calls a queue shows: waiting for someone, ringing someone, or connected. */
export function isLive(call: CallView): boolean {
  return call.state === 'waiting' || call.state === 'ringing' || call.state === 'bridged';
}

/** Since when the patient has been waiting: from entering the queue, else from the start of the call. */
export function waitingSince(call: CallView): number {
  return call.queuedAt ?? call.startedAt;
}

/**
 * The queue's view of the call ringing this browser: the call the sip app named in the INVITE, or
 * else the one the queue says is ringing this workstation.
 */
export function findQueueCall(
  calls: readonly CallView[],
  call: PhoneCall | undefined,
  workstationId: string | undefined,
): CallView | undefined {
  if (call === undefined) return undefined;
  if (call.queueCallId !== undefined) return calls.find((c) => c.id === call.queueCallId);
  if (workstationId === undefined) return undefined;
  return calls.find((c) => c.workstationId === workstationId && (c.state === 'ringing' || c.state === 'bridged'));
}
