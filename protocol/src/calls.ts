/**
 * A patient's call, as every side sees it.
 *
 *   intro ──> waiting ──> ringing ──> bridged ──> ended
 *     │          ^  │         │
 *     │          └──┼─────────┘ (ring timeout / agent declined: back to waiting)
 *     v             v
 *   abandoned <─────┘ (the patient hung up before anyone answered)
 */
export const CALL_STATES = ['intro', 'waiting', 'ringing', 'bridged', 'ended', 'abandoned'] as const;
export type CallState = (typeof CALL_STATES)[number];

const CALL_TRANSITIONS: Record<CallState, readonly CallState[]> = {
  intro: ['waiting', 'abandoned'],
  waiting: ['ringing', 'abandoned'],
  ringing: ['bridged', 'waiting', 'abandoned'],
  bridged: ['ended'],
  ended: [],
  abandoned: [],
};

export function canMoveCall(from: CallState, to: CallState): boolean {
  return CALL_TRANSITIONS[from].includes(to);
}

/** Throws on a move the state machine does not allow. */
export function assertCallMove(from: CallState, to: CallState): void {
  if (!canMoveCall(from, to)) throw new Error(`illegal call state change ${from} -> ${to}`);
}

export interface CallView {
  /** The B2BUA's id for the call (not a SIP Call-ID). */
  id: string;
  /** The patient's number as the trunk presented it. */
  from: string;
  /** The clinic line that was dialled. */
  line: string;
  state: CallState;
  /** Epoch ms. */
  startedAt: number;
  /** When the call entered the queue (after the intro). */
  queuedAt?: number;
  answeredAt?: number;
  endedAt?: number;
  /** The agent being rung or on the line. */
  agentUserId?: string;
  workstationId?: string;
}
