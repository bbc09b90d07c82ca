import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

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

export const CallViewSchema = Type.Object({
  /** The B2BUA's id for the call (not a SIP Call-ID). */
  id: Type.String(),
  /** The patient's number as the trunk presented it. */
  from: Type.String(),
  /** The clinic line that was dialled. */
  line: Type.String(),
  state: literalUnion(CALL_STATES),
  /** Epoch ms. */
  startedAt: Type.Integer(),
  /** When the call entered the queue (after the intro). */
  queuedAt: Type.Optional(Type.Integer()),
  answeredAt: Type.Optional(Type.Integer()),
  endedAt: Type.Optional(Type.Integer()),
  /** The agent being rung or on the line. */
  agentUserId: Type.Optional(Type.String()),
  workstationId: Type.Optional(Type.String()),
});
export type CallView = Static<typeof CallViewSchema>;
