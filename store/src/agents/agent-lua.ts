import { AGENT_TABLE, type AgentMove } from './agent-table.js';

/** The move's row of AGENT_TABLE as a Lua table literal: ROW[from][to] = true. */
const luaRow = (move: AgentMove): string => {
  const froms = Object.entries(AGENT_TABLE[move]).map(
    ([from, tos]) => `['${from}'] = { ${(tos ?? []).map((to) => `['${to}'] = true`).join(', ')} }`,
  );
  return `{ ${froms.join(', ')} }`;
};

/**
 * The head of every agent script: its move's row of the table, the agent's position as the table
 * reads the hash, and the check. `check(from, to)` returns nil for a move the table has, else the
 * refusal's reason; a script returns that reason before it writes anything.
 */
const prelude = (move: AgentMove): string => `
local ROW = ${luaRow(move)}
local function position(agent)
  local state, workstationId, callId = agent[1], agent[2], agent[3]
  if not state or not workstationId or state == 'offline' then return 'offline' end
  if state == 'paused' and callId then return 'paused-on-call' end
  return state
end
local function check(from, to)
  local row = ROW[from]
  if row and row[to] then return nil end
  return 'agent table: ${move} from ' .. from .. ' to ' .. to .. ' is not allowed'
end`;

/** A script for one move: the prelude, then `body`, which reads the agent and calls check() before writing. */
export const agentScript = (move: AgentMove, body: string): string => `${prelude(move)}\n${body}`;
