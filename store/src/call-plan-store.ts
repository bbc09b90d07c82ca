import type { Redis } from 'ioredis';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The clinic's call plan in Redis (`call-plan`, JSON; docs/call-plan.md). Unset, or unreadable, it is
 * DEFAULT_CALL_PLAN. Minimal version for the announcements (issue 15); the settings' own store, with
 * validation, replaces it.
 */
export class CallPlanStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<CallPlan> {
    const json = await this.redis.get(RedisKeys.callPlan);
    if (json === null) return DEFAULT_CALL_PLAN;
    try {
      return { ...DEFAULT_CALL_PLAN, ...(JSON.parse(json) as Partial<CallPlan>) };
    } catch {
      return DEFAULT_CALL_PLAN;
    }
  }

  async set(plan: CallPlan): Promise<void> {
    await this.redis.set(RedisKeys.callPlan, JSON.stringify(plan));
  }
}
