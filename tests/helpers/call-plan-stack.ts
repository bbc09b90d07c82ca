/**
 * The call path of the call plan's integration tests (issue 15): the real stack (call-path.ts), the
 * call events, a patient line, the plan in Redis (CallPlanStore) and staff, with what each test opens
 * closed after it. Each suite keeps its own uvu suite and hooks: `callPlanHooks` installs them.
 */
import type { Test } from 'uvu';
import { CallPlanStore } from '@deskline/store';
import { AgentPhone } from './agent-phone.js';
import { CallEvents } from './call-events.js';
import { CLINIC_NUMBER, activeCallIds, startCallPath, type CallPath, type CallPathOptions } from './call-path.js';
import { PatientLine, type PatientDialog } from './patient-line.js';
import { PatientPhone } from './patient-phone.js';
import { Staff } from './staff.js';
import { waitFor } from './wait.js';

export interface CallPlanContext {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  plans: CallPlanStore;
  /** Closed after each test. */
  open: Array<{ close(): unknown }>;
  /** Logged out after each test. */
  users: string[];
}

/**
 * Starts the stack with `appEnv` (and `instances` sip apps, default 1) before the suite, tidies after
 * each test (no active call left), stops it after.
 */
export function callPlanHooks(
  test: Test<CallPlanContext>,
  appEnv: Record<string, string>,
  instances = 1,
  /** Runs once the stack is up, before the suite's tests (e.g. a suite's own prompt files). */
  prepare?: (path: CallPath) => void,
  /** More of the call path's options (rtpengine's keyspace, for a suite that restarts rtpengine). */
  pathOptions: Omit<CallPathOptions, 'appEnv' | 'instances'> = {},
): void {
  test.before(async (context) => {
    context.path = await startCallPath({ ...pathOptions, appEnv, instances });
    prepare?.(context.path);
    context.staff = new Staff(context.path.redis);
    context.events = await CallEvents.open(context.path.redisUrl);
    context.line = await PatientLine.open(context.path.kamailioPort);
    context.plans = new CallPlanStore(context.path.redis);
    context.open = [];
    context.users = [];
  });
  // uvu loses a test's error when an after.each hook throws too: this one reports its own problems.
  test.after.each(async (context) => {
    try {
      for (const item of context.open.splice(0)) await item.close();
      for (const user of context.users.splice(0)) await context.staff.leave(user);
      await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
    } catch (err) {
      console.error('cleanup after the test failed:', err);
    }
  });
  test.after(async (context) => {
    await context.line?.close();
    await context.events?.close();
    await context.path?.stop();
  });
}

/** The patient calls the clinic line; resolves once answered, with their media side and the call's id. */
export async function patientCalls(
  context: CallPlanContext,
  from?: string,
): Promise<{ media: PatientPhone; dialog: PatientDialog; id: string }> {
  const mark = context.events.mark();
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port, ...(from ? { from } : {}) });
  const intro = await context.events.waitFor({ state: 'intro', from: mark });
  return { media, dialog, id: intro.call.id };
}

/** A workstation with its browser registered (a Node SIP-over-WebSocket phone), its user available on it. */
export async function agentAt(context: CallPlanContext, userId: string, name: string): Promise<AgentPhone> {
  const workstation = await context.staff.workstation(name);
  const phone = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(phone);
  context.users.push(userId);
  await context.staff.available(userId, workstation.id);
  return phone;
}
