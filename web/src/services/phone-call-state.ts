/**
 * An incoming call:
 *
 *   ringing ──(answer)──> connecting ──(ACK)──> in-call ──(either side hangs up)──> ended
 *      └──────────(caller cancels, answer fails)────────────────────────────────────────┘
 *
 * An outgoing call (a callback, `call()`): `ringing` always means "rings here" (the Answer button,
 * the ringtone, the notification), so an outgoing call starts `connecting` and stays so while the
 * patient's phone rings, and says so with `remoteRinging`:
 *
 *   connecting ──(180: remoteRinging)──> connecting ──(200)──> in-call ──(either side hangs up)──> ended
 *      └──────────(busy, no answer, refused, we hang up: CANCEL)──────────────────────────────────┘
 */
export const PHONE_CALL_STATES = ['ringing', 'connecting', 'in-call', 'ended'] as const;
export type PhoneCallState = (typeof PHONE_CALL_STATES)[number];

const PHONE_CALL_TRANSITIONS: Record<PhoneCallState, readonly PhoneCallState[]> = {
  ringing: ['connecting', 'ended'],
  connecting: ['in-call', 'ended'],
  'in-call': ['ended'],
  ended: [],
};

export function canMovePhoneCall(from: PhoneCallState, to: PhoneCallState): boolean {
  return PHONE_CALL_TRANSITIONS[from].includes(to);
}

/** Throws on a move the table does not allow: the caller has a bug. */
export function assertPhoneCallMove(from: PhoneCallState, to: PhoneCallState): void {
  if (!canMovePhoneCall(from, to)) throw new Error(`illegal phone call state change ${from} -> ${to}`);
}
