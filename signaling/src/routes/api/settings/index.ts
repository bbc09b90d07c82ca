import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PolicyError, countryPrefix } from '@deskline/outbound-policy';
import {
  API_ROUTES,
  parseDateTime,
  previewCallPlan,
  type CallPlan,
  type CallPlanResponse,
  type OutboundPolicy,
  type OutboundPolicyResponse,
} from '@deskline/protocol';
import type { Config } from '../../../config.js';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { callPlanProblems } from '../../../services/call-plan-check.js';
import distribution from './distribution.js';
import prompts, { holdMusic } from './prompts.js';

/** The largest call plan body: 200 closures and 9 queues of up to 500 members fit. */
const CALL_PLAN_BODY_LIMIT = 512 * 1024;

/**
 * The clinic's settings that managers change in the panel: the outbound policy of callbacks
 * (docs/security.md, "Callbacks: the outbound policy"): which numbers may be called back, how many
 * callbacks an employee may start a day, and how long one may last; the call plan
 * (docs/call-plan.md): opening hours, closures, queues, what a caller hears; whether Abandoned calls
 * may be called back (docs/managers.md, "Call outcomes"); and the prompts and
 * hold music callers hear (./prompts.ts).
 */
const settings: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  await app.register(prompts, { prefix: '/prompts' });
  await app.register(holdMusic, { prefix: '/hold-music' });
  await app.register(distribution, { prefix: '/distribution' });
  const timeZone = config.CLINIC_TIME_ZONE;
  const respond = (policy: OutboundPolicy): OutboundPolicyResponse => ({
    policy,
    country: app.outboundPolicy.country,
    countryPrefix: countryPrefix(app.outboundPolicy.country),
  });

  app.get('/outbound-policy', { config: { access: 'manager' }, schema: API_ROUTES.outboundPolicy.schema }, async () =>
    respond(await app.outboundPolicy.get()),
  );

  app.put(
    '/outbound-policy',
    { config: { access: 'manager' }, schema: API_ROUTES.setOutboundPolicy.schema },
    async (request) => {
      const { user } = authenticated(request);
      let policy: OutboundPolicy;
      try {
        policy = await app.outboundPolicy.set(request.body);
      } catch (err) {
        if (err instanceof PolicyError) throw new ClientError(400, err.message);
        throw err;
      }
      // For clinic IT: who widened (or narrowed) what the clinic's trunk may dial.
      request.log.warn({ userId: user.id, policy }, 'outbound policy changed');
      return respond(policy);
    },
  );

  // Everyone logged in reads it: the board shows Call back on Abandoned tasks by it.
  app.get('/outcomes', { config: { access: 'session' }, schema: API_ROUTES.outcomeSettings.schema }, async () =>
    app.outcomeSettings.get(),
  );

  app.put(
    '/outcomes',
    { config: { access: 'manager' }, schema: API_ROUTES.setOutcomeSettings.schema },
    async (request) => {
      const { user } = authenticated(request);
      const saved = await app.outcomeSettings.set(request.body);
      request.log.info({ userId: user.id, settings: saved }, 'outcome settings changed');
      return saved;
    },
  );

  const planResponse = (plan: CallPlan): CallPlanResponse => ({ plan, timeZone });

  app.get('/call-plan', { config: { access: 'manager' }, schema: API_ROUTES.callPlan.schema }, async () =>
    planResponse(await app.callPlan.get()),
  );

  app.put(
    '/call-plan',
    { config: { access: 'manager' }, schema: API_ROUTES.setCallPlan.schema, bodyLimit: CALL_PLAN_BODY_LIMIT },
    async (request) => {
      const { user } = authenticated(request);
      const plan = request.body;
      const problems = await callPlanProblems(plan, {
        timeZone,
        previous: await app.callPlan.get(),
        users: app.users,
      });
      if (problems.length > 0) throw new ClientError(400, problems.join('\n'));
      await app.callPlan.put(plan);
      request.log.info({ userId: user.id }, 'call plan changed');
      return planResponse(plan);
    },
  );

  app.get(
    '/call-plan/preview',
    { config: { access: 'manager' }, schema: API_ROUTES.previewCallPlan.schema },
    async (request) => {
      const text = request.query.at;
      const at = text === undefined ? Date.now() : parseDateTime(text, timeZone);
      if (at === undefined)
        throw new ClientError(
          400,
          `"${text}" is not a date and time: use ISO 8601, e.g. 2026-12-25T10:00 (the clinic's time) or 2026-12-25T10:00:00+01:00.`,
        );
      return previewCallPlan(await app.callPlan.get(), timeZone, new Date(at));
    },
  );
};

export default settings;
