import type { Redis } from 'ioredis';
import { Value } from '@sinclair/typebox/value';
import { CallPlanSchema, DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/** What `read()` found: the plan in force, and the parts of the stored one that were replaced by the default's. */
export interface StoredCallPlan {
  plan: CallPlan;
  /**
   * The top-level fields (e.g. `queues`) of the stored plan that no longer match CallPlanSchema (a
   * plan saved by an older version, or edited by hand) and were replaced by DEFAULT_CALL_PLAN's;
   * ['*'] when the stored value is not a JSON object at all. [] when the stored plan is used as is.
   */
  replaced: string[];
}

/**
 * The clinic's call plan in Redis (`call-plan`, JSON; docs/call-plan.md). Managers save it through
 * signaling (PUT /api/settings/call-plan, which validates it first) or `deskline call-plan set`; the
 * sip app reads it for every new call.
 *
 * A stored plan that no longer matches the schema never fails a call: get() returns it merged with
 * DEFAULT_CALL_PLAN, field by field (each top-level field that does not match the schema is the
 * default's, the others are kept), and logs nothing itself. read() says which fields were replaced,
 * for a caller that wants to log it.
 */
export class CallPlanStore {
  constructor(private readonly redis: Redis) {}

  /** The plan in force: DEFAULT_CALL_PLAN when none is saved. Never throws for what is stored. */
  async get(): Promise<CallPlan> {
    return (await this.read()).plan;
  }

  async read(): Promise<StoredCallPlan> {
    const json = await this.redis.get(RedisKeys.callPlan);
    if (json === null) return { plan: structuredClone(DEFAULT_CALL_PLAN), replaced: [] };
    let stored: unknown;
    try {
      stored = JSON.parse(json);
    } catch {
      stored = undefined;
    }
    return mergeWithDefault(stored);
  }

  /** Replaces the plan; the caller has validated it (CallPlanSchema and validateCallPlan). */
  async put(plan: CallPlan): Promise<void> {
    await this.redis.set(RedisKeys.callPlan, JSON.stringify(plan));
  }
}

/** The stored value, each top-level field that does not match the schema replaced by the default's. */
export function mergeWithDefault(stored: unknown): StoredCallPlan {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored))
    return { plan: structuredClone(DEFAULT_CALL_PLAN), replaced: ['*'] };
  const record = stored as Record<string, unknown>;
  const plan: Record<string, unknown> = {};
  const replaced: string[] = [];
  for (const [field, schema] of Object.entries(CallPlanSchema.properties)) {
    const value = record[field];
    if (Value.Check(schema, value)) plan[field] = value;
    else {
      plan[field] = structuredClone(DEFAULT_CALL_PLAN[field as keyof CallPlan]);
      replaced.push(field);
    }
  }
  for (const field of Object.keys(record)) if (!(field in CallPlanSchema.properties)) replaced.push(field);
  return { plan: plan as CallPlan, replaced };
}
