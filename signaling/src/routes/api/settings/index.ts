import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PolicyError, countryPrefix } from '@deskline/outbound-policy';
import { API_ROUTES, type OutboundPolicy, type OutboundPolicyResponse } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';

/**
 * The clinic's settings that managers change in the panel. For now the outbound policy of callbacks
 * (docs/security.md, "Callbacks: the outbound policy"): which numbers may be called back, how many
 * callbacks an employee may start a day, and how long one may last.
 */
const settings: FastifyPluginAsyncTypebox = async (app) => {
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
};

export default settings;
