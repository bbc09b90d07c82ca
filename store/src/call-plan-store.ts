import type { Redis } from 'ioredis';
import { isCallPlan, DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The clinic's call plan in Redis (issue 15): read by the sip app for every new call. Unset, or a
 * stored value that no longer fits the schema, reads as DEFAULT_CALL_PLAN.
 */
export class CallPlanStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<CallPlan> {
    const json = await this.redis.get(RedisKeys.callPlan);
    if (json === null) return DEFAULT_CALL_PLAN;
    try {
      const value: unknown = JSON.parse(json);
      return isCallPlan(value) ? value : DEFAULT_CALL_PLAN;
    } catch {
      return DEFAULT_CALL_PLAN;
    }
  }

  async set(plan: CallPlan): Promise<void> {
    await this.redis.set(RedisKeys.callPlan, JSON.stringify(plan));
  }
}
