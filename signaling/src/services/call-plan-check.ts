import { Value } from '@sinclair/typebox/value';
import { CallPlanSchema, validateCallPlan, type CallPlan } from '@deskline/protocol';
import type { UserStore } from './user-store.js';

/**
 * Everything wrong with a call plan a manager (PUT /api/settings/call-plan) or clinic IT (`deskline
 * call-plan set`) is saving, in words, one problem a string; [] when it may be saved. The schema's
 * refusals first (only for a value not yet checked by the route's schema), then validateCallPlan's,
 * then queue members that are not users.
 */
export async function callPlanProblems(
  plan: unknown,
  options: { timeZone: string; previous: CallPlan; users: UserStore; now?: Date },
): Promise<string[]> {
  if (!Value.Check(CallPlanSchema, plan)) {
    return [...Value.Errors(CallPlanSchema, plan)]
      .slice(0, 20)
      .map((error) => `${error.path === '' ? 'The plan' : error.path}: ${error.message}.`);
  }
  const problems = validateCallPlan(plan, options.timeZone, options.now ?? new Date(), options.previous);
  const known = new Set((await options.users.list()).map((user) => user.id));
  for (const queue of plan.queues) {
    const unknown = queue.memberIds.filter((id) => !known.has(id));
    if (unknown.length > 0)
      problems.push(`Queue "${queue.name}": no user has the id ${unknown.map((id) => `"${id}"`).join(', ')}.`);
  }
  return problems;
}
