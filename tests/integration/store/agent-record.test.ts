/**
 * AgentRecord against a real redis-server: from every position of the agent table, every move. A
 * move the table has lands where the table says; any other is refused by its script with the table's
 * reason, and Redis is byte for byte as it was (DUMP of every key before and after).
 */
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT_MOVES, AGENT_POSITIONS, AGENT_TABLE } from '@deskline/store';
import { AgentDriver, snapshot } from '../../helpers/agent-positions.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

interface Context {
  server: TestRedis;
  redis: Redis;
  agent: AgentDriver;
}

const test = suite<Context>('agent record: every move from every position, against the agent table');

test.before(async (context) => {
  context.server = await startTestRedis();
  context.redis = new Redis(context.server.url);
  context.agent = new AgentDriver(context.redis, 'anna', ['reception', 'back-office']);
});

test.before.each(async (context) => {
  await context.redis.flushdb();
});

test.after(async (context) => {
  context.redis?.disconnect();
  await context.server?.stop();
});

for (const from of AGENT_POSITIONS) {
  for (const move of AGENT_MOVES) {
    const allowed = AGENT_TABLE[move][from];
    const name = allowed
      ? `${move} from ${from}: lands on ${allowed.join(' or ')}`
      : `${move} from ${from}: refused, Redis unchanged`;
    test(name, async ({ redis, agent }) => {
      await agent.reach(from);
      const waitingCall = move === 'claim' ? await agent.newWaitingCall() : undefined;
      const before = await snapshot(redis);
      const result = await agent.move(move, 1, waitingCall);
      const to = await agent.record.position(agent.userId);
      if (allowed) {
        assert.ok('done' in result, JSON.stringify(result));
        assert.ok(allowed.includes(to), `${move} from ${from} landed on ${to}`);
      } else {
        assert.ok('refused' in result, JSON.stringify(result));
        assert.match(result.refused, new RegExp(`^agent table: ${move} from ${from} to \\S+ is not allowed$`));
        assert.equal(await snapshot(redis), before);
        assert.is(to, from);
      }
    });
  }
}

test('a legal move refused for another reason also leaves Redis unchanged: a workstation held by someone else', async ({
  redis,
  agent,
}) => {
  const bob = new AgentDriver(redis, 'bob', ['back-office']);
  await bob.reach('available');
  await agent.reach('available');
  const before = await snapshot(redis);
  assert.equal(await agent.record.pick('anna', 'back-office'), { outcome: 'held', holder: 'bob' });
  assert.equal(await snapshot(redis), before);
});

test('a paused agent who answers stays paused, and the pause ends back on the call', async ({ redis, agent }) => {
  await agent.reach('paused-on-call');
  assert.equal(await agent.record.endPause('anna'), { outcome: 'ended', to: 'on-call' });
  assert.is(await redis.hget('agent:anna', 'state'), 'on-call');
});

test.run();
