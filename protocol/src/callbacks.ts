import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

/**
 * Callbacks (issue 5, docs/call-board.md): an employee on a workstation calls back the patient of an
 * unanswered task (or an abandoned one, when managers allow it) with one click. The browser never names the number. Signaling checks the task and
 * the workstation and writes a one-time grant under a random token; the browser's INVITE goes to
 * `sip:cb-<token>@<domain>`; Kamailio lets a browser INVITE through only to such a target; the sip app
 * takes the grant (once), checks that the INVITE comes from the granted workstation, and calls the
 * grant's number through the outbound trunk. So only numbers that called in can be dialled.
 */
export const CALLBACK_TARGET_PREFIX = 'cb-';

/**
 * The header Kamailio adds to a browser's callback INVITE once it has checked the browser's
 * credentials (route BROWSER_CALLBACK), naming the SIP user they are for. Kamailio removes every
 * X-Deskline-* header from anything that comes in, so nobody else can send it; the sip app takes a
 * grant only for an INVITE that carries it.
 */
export const CALLBACK_AUTHENTICATED_HEADER = 'X-Deskline-Callback-By';
/** A grant's token: 32 lowercase hex digits (128 random bits). Kamailio's config spells it out too. */
export const CALLBACK_TOKEN_PATTERN = /^[0-9a-f]{32}$/;
/** How long a grant waits for the browser's INVITE. */
export const CALLBACK_GRANT_SECONDS = 30;

/** Written by signaling at `callback-grant:<token>` (JSON, TTL CALLBACK_GRANT_SECONDS); taken once by the sip app. */
export interface CallbackGrant {
  callbackId: string;
  taskId: string;
  /** The patient's number, from the task. */
  number: string;
  userId: string;
  workstationId: string;
  /** The SIP user the INVITE must come from (the workstation's). */
  sipUser: string;
  /** Epoch ms. */
  grantedAt: number;
}

/**
 *   dialing ──180/183──> ringing ──200──> answered ──BYE──> ended (outcome answered)
 *      └─────────┴── 486/600 busy, 408/480/timeout no-answer, 603 rejected, other failed,
 *                    the employee hung up first: cancelled ──> ended
 */
export const CALLBACK_STATES = ['dialing', 'ringing', 'answered', 'ended'] as const;
export type CallbackState = (typeof CALLBACK_STATES)[number];

export const CALLBACK_OUTCOMES = ['answered', 'no-answer', 'busy', 'rejected', 'failed', 'cancelled'] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];

export const CallbackViewSchema = Type.Object({
  id: Type.String(),
  taskId: Type.String(),
  number: Type.String(),
  userId: Type.String(),
  workstationId: Type.String(),
  state: literalUnion(CALLBACK_STATES),
  /** Set when state is `ended`. */
  outcome: Type.Optional(literalUnion(CALLBACK_OUTCOMES)),
  /** Epoch ms: the browser's INVITE reached the sip app. */
  startedAt: Type.Integer(),
  answeredAt: Type.Optional(Type.Integer()),
  endedAt: Type.Optional(Type.Integer()),
});
export type CallbackView = Static<typeof CallbackViewSchema>;

/** What the sip app appends to stream:callback-events (field "event", JSON). */
export interface CallbackEvent {
  callback: CallbackView;
}

/**
 * POST /api/tasks/:id/callback → 201. 409 without a workstation, when the task may not be called back (protocol/src/outcomes.ts), when
 * someone is already calling, when the outbound policy refuses the number (`error: 'outbound-policy'`)
 * or the employee has reached the policy's daily cap (`error: 'callback-cap'`).
 */
export const CallbackStartSchema = Type.Object({
  callbackId: Type.String(),
  /** The SIP URI the browser calls: sip:cb-<token>@<domain>. */
  target: Type.String(),
});
export type CallbackStartResponse = Static<typeof CallbackStartSchema>;

/**
 * What looks like a number to call back (the task card offers Call back): digits, `*` and `#`, with an
 * optional leading `+`. What is really dialled is the outbound policy's to decide (OutboundPolicy):
 * the trunk is sent E.164 numbers only.
 */
export const DIALLABLE_NUMBER = /^\+?[0-9*#]{1,32}$/;

/** A patient who withheld their number: the trunk sends '' or `anonymous`. Such calls never join a task. */
export function isWithheld(patient: string): boolean {
  const n = patient.trim().toLowerCase();
  return n === '' || n === 'anonymous';
}

/** Whether a task's patient may be offered Call back: it looks like a number (see DIALLABLE_NUMBER). */
export function isCallable(patient: string): boolean {
  return DIALLABLE_NUMBER.test(patient);
}
