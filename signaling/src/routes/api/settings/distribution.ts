import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { distributionProblems } from '../../../services/distribution-check.js';

/**
 * How calls are distributed (docs/managers.md, "Distribution"): wrap-up time, auto-pause, ring
 * timeout and ring strategy. The sip app and the agent scripts read them at each ring and release, so
 * a change takes effect on the next call.
 */
const distribution: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'manager' }, schema: API_ROUTES.distribution.schema }, () => app.distribution.get());

  app.put('/', { config: { access: 'manager' }, schema: API_ROUTES.setDistribution.schema }, async (request) => {
    const { user } = authenticated(request);
    const settings = request.body;
    const problems = await distributionProblems(settings, app.users);
    if (problems.length > 0) throw new ClientError(400, problems.join('\n'));
    await app.distribution.put(settings);
    request.log.info({ userId: user.id, settings }, 'distribution settings changed');
    return settings;
  });
};

export default distribution;
