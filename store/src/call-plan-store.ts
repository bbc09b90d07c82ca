import type { Redis } from 'ioredis';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The clinic's call plan in Redis (RedisKeys.callPlan, JSON). Minimal version for the sip app's
 * branch (issue 15); the settings helper's version replaces it.
 */
export class CallPlanStore {
  constructor(private readonly redis: Redis) {}

  /** The plan; DEFAULT_CALL_PLAN when none was saved (or what is stored cannot be read). */
  async get(): Promise<CallPlan> {
    const json = await this.redis.get(RedisKeys.callPlan);
    if (json === null) return DEFAULT_CALL_PLAN;
    try {
      return JSON.parse(json) as CallPlan;
    } catch {
      return DEFAULT_CALL_PLAN;
    }
  }

  async put(plan: CallPlan): Promise<void> {
    await this.redis.set(RedisKeys.callPlan, JSON.stringify(plan));
  }
}
