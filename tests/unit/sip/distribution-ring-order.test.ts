/** The order the router offers a call to agents in (sip/src/routing/ring-order.ts), per ring strategy. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextCandidate, ringOrder } from '@deskline/sip/routing/ring-order';
import type { Agent } from '@deskline/sip/routing/agent-store';

const agent = (userId: string): Agent => ({ userId, workstationId: `ws-${userId}`, kind: 'browser', sipUser: userId });
/** Longest idle first, as candidateAgents() gives them. */
const idle = ['carla', 'ben', 'anna', 'dora'].map(agent);
const ids = (agents: readonly Agent[]): string[] => agents.map((a) => a.userId);

test('longest-idle keeps the idle order', () => {
  assert.equal(ids(ringOrder(idle, { strategy: 'longest-idle', fixedOrder: ['anna', 'ben'] })), [
    'carla',
    'ben',
    'anna',
    'dora',
  ]);
});

test("fixed-order puts the manager's list first, in its order; the others after, longest idle first", () => {
  assert.equal(ids(ringOrder(idle, { strategy: 'fixed-order', fixedOrder: ['anna', 'ghost', 'ben'] })), [
    'anna',
    'ben',
    'carla',
    'dora',
  ]);
});

test('nextCandidate skips those who let this call ring out, unless nobody else fits; -1 when nobody does', () => {
  const everyone = (): boolean => true;
  assert.is(nextCandidate(idle, everyone, new Set()), 0);
  assert.is(nextCandidate(idle, everyone, new Set(['carla'])), 1);
  assert.is(
    nextCandidate(idle, (a) => a.userId === 'carla', new Set(['carla'])),
    0,
  );
  assert.is(
    nextCandidate(idle, () => false, new Set()),
    -1,
  );
});

test.run();
