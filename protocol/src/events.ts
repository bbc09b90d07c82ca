import type { AgentState } from './agents.js';
import type { CallView } from './calls.js';

/** Messages the server pushes to every logged-in panel over the WebSocket at /api/push. */
export type PushEvent =
  | { type: 'hello'; calls: CallView[]; agents: AgentView[] }
  | { type: 'call'; call: CallView }
  | { type: 'agent'; agent: AgentView };

export interface AgentView {
  userId: string;
  displayName: string;
  state: AgentState;
  workstationId?: string;
}

/** What the sip app records on the call-events stream. */
export interface CallEvent {
  call: CallView;
}
