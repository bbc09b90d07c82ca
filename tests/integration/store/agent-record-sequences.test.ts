/**
 * A property of AgentRecord against a real redis-server: random sequences of moves by two agents
 * sharing two workstations (seeded, so a failure replays) never leave an agent anywhere the agent
 * table does not have, every move that went through is one of the table's, and the hash and the sets
 * around it agree with the position.
 */
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT_MOVES, AGENT_POSITIONS, AGENT_TABLE, RedisKeys, agentStateOf } from '@deskline/store';
import { AgentDriver } from '../../helpers/agent-positions.js';
import { prng } from '../../helpers/prng.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

const MOVES = 3_000;
const SEEDS = [1, 14, 2026];

interface Context {
  server: TestRedis;
  redis: Redis;
}

const test = suite<Context>('agent record: random sequences of moves stay inside the agent table');

test.before(async (context) => {
  context.server = await startTestRedis();
  context.redis = new Redis(context.server.url);
});

test.after(async (context) => {
  context.redis?.disconnect();
  await context.server?.stop();
});

for (const seed of SEEDS) {
  test(`seed ${seed}: ${MOVES} moves`, async ({ redis }) => {
    await redis.flushdb();
    const random = prng(seed);
    const workstations = ['reception', 'back-office'];
    const agents = [new AgentDriver(redis, 'anna', workstations), new AgentDriver(redis, 'bob', workstations)];
    for (const agent of agents) await agent.register();
    const seen = new Set<string>();
    for (let step = 0; step < MOVES; step++) {
      const agent = agents[Math.floor(random() * agents.length)]!;
      const move = AGENT_MOVES[Math.floor(random() * AGENT_MOVES.length)]!;
      const from = await agent.record.position(agent.userId);
      const result = await agent.move(move, Math.floor(random() * workstations.length));
      const to = await agent.record.position(agent.userId);
      const where = `seed ${seed}, step ${step}: ${agent.userId} ${move} from ${from} -> ${to} (${JSON.stringify(result)})`;

      assert.ok((AGENT_POSITIONS as readonly string[]).includes(to), where);
      if (from !== to) assert.ok(AGENT_TABLE[move][from]?.includes(to), where);
      if ('refused' in result) assert.is(to, from, where);

      const [state, callId] = await redis.hmget(RedisKeys.agent(agent.userId), 'state', 'callId');
      assert.is(state ?? 'offline', agentStateOf(to), where);
      assert.is(callId !== null, to === 'ringing' || to === 'on-call' || to === 'paused-on-call', where);
      assert.is((await redis.zscore(RedisKeys.idleAgents, agent.userId)) !== null, to === 'available', where);
      assert.is(
        (await redis.zscore(RedisKeys.pauseEnds, agent.userId)) !== null,
        to === 'paused' || to === 'paused-on-call',
        where,
      );
      seen.add(`${move} ${from}->${to}`);
    }
    // The walk is long enough to have made every kind of move from every position it can happen in.
    assert.ok(seen.size >= 25, [...seen].sort().join('\n'));
  });
}

test.run();
