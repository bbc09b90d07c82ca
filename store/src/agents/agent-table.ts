import type { AgentState } from '@deskline/protocol';

/**
 * The agent machine: the one definition of how an agent may move. Every AgentRecord script is
 * generated with this table inside it (agent-lua.ts) and refuses, with Redis unchanged, a move the
 * table lacks.
 *
 * A position is the agent hash as the table reads it: the wire `state` (AgentState, what panels see),
 * except that an agent paused during a call (`state=paused` plus a `callId`) is `paused-on-call`: being
 * paused is one thing, having a call another, and the pause's end puts them back on that call.
 *
 *           pick               claim              answer
 * offline ───────> available ───────> ringing ───────> on-call
 *    ^               │   ^   ^ <─ release ─┘               │
 *    │ leave         │   │   └────────── release ──────────┘
 *    │ (from any)    │   │                  │ pause         │ pause
 *    │         pause v   │ end-pause        v               v
 *    │              paused <─ release ─ paused-on-call <────┘
 *    │                                     │ answer, pause, extend: stays
 *    │                                     └ end-pause ─> ringing | on-call | available
 *
 * Wrap-up and auto-pause (issue 16): the distribution settings, read by the release script, make a
 * release a pause with a `pauseReason`, ended like any pause (its end, "Ready now", "I'm back"):
 *
 *    on-call ── release, wrapUpSeconds > 0 ─────────────────────> paused (wrap-up, wrapUpSeconds long)
 *    ringing ── release of the autoPauseAfter-th missed ring ──> paused (no-answer, the longest pause)
 *
 * pick also keeps an agent where they are when they change workstation (available, paused); pause and
 * extend from `paused` only move the pause's end.
 *
 * force-off is a manager taking someone off their workstation (an employee who went home with it
 * picked): like leave, but only from where nobody is talking (available, ringing, paused), and it
 * leaves a note of who did it and when, which the user's panel shows.
 */
export const AGENT_POSITIONS = ['offline', 'available', 'ringing', 'on-call', 'paused', 'paused-on-call'] as const;
export type AgentPosition = (typeof AGENT_POSITIONS)[number];

/** Every write to an agent is one of these moves (AgentRecord has one method per move). */
export const AGENT_MOVES = [
  'pick',
  'leave',
  'force-off',
  'pause',
  'extend',
  'end-pause',
  'claim',
  'answer',
  'release',
] as const;
export type AgentMove = (typeof AGENT_MOVES)[number];

type Row = Partial<Record<AgentPosition, readonly AgentPosition[]>>;

const leaveFromAnywhere: Row = Object.fromEntries(AGENT_POSITIONS.map((from) => [from, ['offline']]));

/** move -> from -> the positions it may lead to. A (move, from) pair that is absent is refused. */
export const AGENT_TABLE: Readonly<Record<AgentMove, Row>> = {
  pick: { offline: ['available'], available: ['available'], paused: ['paused'] },
  leave: leaveFromAnywhere,
  // Never from a call: whoever is talking is at their desk.
  'force-off': { available: ['offline'], ringing: ['offline'], paused: ['offline'] },
  pause: {
    available: ['paused'],
    paused: ['paused'],
    ringing: ['paused-on-call'],
    'on-call': ['paused-on-call'],
    'paused-on-call': ['paused-on-call'],
  },
  extend: { paused: ['paused'], 'paused-on-call': ['paused-on-call'] },
  // Back on the call the agent paused during, or available when that call is over.
  'end-pause': { paused: ['available'], 'paused-on-call': ['ringing', 'on-call', 'available'] },
  claim: { available: ['ringing'] },
  // A paused agent who answers talks all the same, and stays paused until the pause or the call ends.
  answer: { ringing: ['on-call'], 'paused-on-call': ['paused-on-call'] },
  // Wrap-up after a call, or auto-pause after unanswered rings, make the release a pause.
  release: { ringing: ['available', 'paused'], 'on-call': ['available', 'paused'], 'paused-on-call': ['paused'] },
};

export function canMoveAgent(move: AgentMove, from: AgentPosition, to: AgentPosition): boolean {
  return AGENT_TABLE[move][from]?.includes(to) ?? false;
}

/** What panels see of a position (the hash's `state`). */
export function agentStateOf(position: AgentPosition): AgentState {
  return position === 'paused-on-call' ? 'paused' : position;
}
