/**
 * An agent is a logged-in user as the router sees them; panels show this state. How an agent may move
 * between states is the agent table of @deskline/store (store/src/agents/agent-table.ts), which every
 * script that writes an agent enforces; a paused agent may still be ringing or on a call.
 */
export const AGENT_STATES = ['offline', 'available', 'paused', 'ringing', 'on-call'] as const;
export type AgentState = (typeof AGENT_STATES)[number];
