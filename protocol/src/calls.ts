import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

/**
 * A patient's call, as every side sees it.
 *
 *   intro ──> waiting ──> ringing ──> bridged ──> ended
 *     │  ╲       ^  │         │
 *     │   menu ──┤  └─────────┘ (ring timeout / agent declined: back to waiting)
 *     v          │
 *   abandoned <──┴── (the patient hung up before anyone answered, in any state before bridged)
 *
 * The call plan (issue 15, docs/call-plan.md) adds:
 *   - `menu`: the keypad menu that picks a queue, after the intro;
 *   - `closed`: the closed prompt (outside the hours, or an overflow to it), then the clinic hangs
 *     up; final once the clinic has hung up or the patient has;
 *   - `offer`: "press 1 to be called back" as an overflow; no key: the closed prompt (`closed`);
 *   - `voicemail`: the greeting and the recording; `message-left` once a message was kept;
 *   - `callback-requested`: the patient pressed the callback key; final at once (their task appears
 *     with their place in the queue), the confirmation plays after.
 * Final: ended, abandoned, closed (once left), callback-requested, message-left. A call outside the
 * hours goes from intro (not played) straight to closed or voicemail, with `afterHours`.
 */
export const CALL_STATES = [
  'intro',
  'menu',
  'waiting',
  'ringing',
  'bridged',
  'offer',
  'voicemail',
  'closed',
  'ended',
  'abandoned',
  'callback-requested',
  'message-left',
] as const;
export type CallState = (typeof CALL_STATES)[number];

/** States no move leads out of. `closed` is final too once the call has ended (`endedAt`). */
export const FINAL_CALL_STATES: readonly CallState[] = ['ended', 'abandoned', 'callback-requested', 'message-left'];

const CALL_TRANSITIONS: Record<CallState, readonly CallState[]> = {
  intro: ['menu', 'waiting', 'offer', 'voicemail', 'closed', 'abandoned'],
  menu: ['waiting', 'offer', 'voicemail', 'closed', 'abandoned'],
  waiting: ['ringing', 'callback-requested', 'offer', 'voicemail', 'closed', 'abandoned'],
  ringing: ['bridged', 'waiting', 'abandoned'],
  bridged: ['ended'],
  offer: ['callback-requested', 'voicemail', 'closed', 'abandoned'],
  voicemail: ['message-left', 'abandoned'],
  closed: ['voicemail'],
  ended: [],
  abandoned: [],
  'callback-requested': [],
  'message-left': [],
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
  /** The call plan's queue the call waits in (issue 15); absent before the menu, or with one queue. */
  queueId: Type.Optional(Type.String()),
  /** The call came outside the opening hours (or on a closure): counted as `closed` in the statistics. */
  afterHours: Type.Optional(Type.Boolean()),
  /** For an abandoned call: the state the patient hung up in. */
  abandonedIn: Type.Optional(literalUnion(CALL_STATES)),
  /** For message-left: the voicemail message's id (its audio at /api/voicemail/:id). */
  voicemailId: Type.Optional(Type.String()),
});
export type CallView = Static<typeof CallViewSchema>;
