/**
 * An agent is a logged-in user as the router sees them.
 *
 *   offline ──(picks a workstation)──> available <──> paused
 *                                         │  ^
 *                           (call offered)v  │(call ends / ring timeout)
 *                                       ringing ──(answers)──> on-call
 */
export const AGENT_STATES = ['offline', 'available', 'paused', 'ringing', 'on-call'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

const AGENT_TRANSITIONS: Record<AgentState, readonly AgentState[]> = {
  offline: ['available', 'paused'],
  available: ['paused', 'ringing', 'offline'],
  paused: ['available', 'offline'],
  ringing: ['on-call', 'available', 'offline', 'paused'],
  'on-call': ['available', 'offline', 'paused'],
};

export function canMoveAgent(from: AgentState, to: AgentState): boolean {
  return from === to || AGENT_TRANSITIONS[from].includes(to);
}

export function assertAgentMove(from: AgentState, to: AgentState): void {
  if (!canMoveAgent(from, to)) throw new Error(`illegal agent state change ${from} -> ${to}`);
}
