import type { DistributionSettings } from '@deskline/protocol';
import type { Agent } from './agent-store.js';

/**
 * The order in which the router offers a call to the agents who can take it (docs/managers.md,
 * "Distribution"). `candidates` come longest idle first; `fixed-order` puts the manager's list first,
 * in its order, and the agents not on it after, still longest idle first.
 */
export function ringOrder(
  candidates: readonly Agent[],
  settings: Pick<DistributionSettings, 'strategy' | 'fixedOrder'>,
): Agent[] {
  if (settings.strategy !== 'fixed-order') return [...candidates];
  const rank = new Map(settings.fixedOrder.map((userId, index) => [userId, index]));
  const rankOf = (agent: Agent): number => rank.get(agent.userId) ?? Number.MAX_SAFE_INTEGER;
  // Array.prototype.sort is stable: equal ranks keep the longest-idle order.
  return [...candidates].sort((a, b) => rankOf(a) - rankOf(b));
}

/**
 * Which of `candidates` the call rings next: the first who fits it (a member of its queue), preferring
 * one who has not already let this call ring out, so that a call goes round the agents rather than
 * back to the first one on the list; -1 when none fits.
 */
export function nextCandidate(
  candidates: readonly Agent[],
  fits: (agent: Agent) => boolean,
  missedBy: ReadonlySet<string>,
): number {
  const fresh = candidates.findIndex((agent) => fits(agent) && !missedBy.has(agent.userId));
  return fresh >= 0 ? fresh : candidates.findIndex(fits);
}
