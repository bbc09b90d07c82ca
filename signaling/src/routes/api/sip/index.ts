import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import type { Config } from '../../../config.js';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { turnCredentials } from '../../../services/sip-credentials.js';

const NO_WORKSTATION = 'Pick a workstation to receive calls and to call patients back.';

/** SIP credentials for the browser workstation the user is on. */
const sip: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.get(
    '/credentials',
    { config: { access: 'session' }, schema: API_ROUTES.sipCredentials.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      if (!config.SIP_EPHEMERAL_SECRET) {
        return reply
          .code(503)
          .send({ statusCode: 503, error: 'Service Unavailable', message: 'SIP is not configured on this server.' });
      }
      // No workstation, no credentials: the browser can neither register nor call (docs/call-path.md).
      const workstation = await app.agents.requireWorkstation(user.id, NO_WORKSTATION);
      if (workstation.kind !== 'browser')
        throw new ClientError(409, `${workstation.name} is a desk phone; calls ring there.`);
      // Good only while this user holds the workstation (docs/security.md).
      const credentials = await app.agents.sipAuthorizations.issue({
        userId: user.id,
        workstationId: workstation.id,
        secret: config.SIP_EPHEMERAL_SECRET,
        domain: config.SIP_DOMAIN,
        wsUrl: config.SIP_WS_URL ?? `ws://${request.hostname}:${config.SIP_WS_PORT}`,
        lifetimeMs: config.SIP_CREDENTIALS_HOURS * 3_600_000,
      });
      if (!credentials) throw new ClientError(409, NO_WORKSTATION);
      // Browser-facing no-store: the response carries a password.
      reply.header('cache-control', 'no-store');
      if (!config.TURN_URLS || !config.TURN_SECRET) return credentials;
      const turn = turnCredentials({
        secret: config.TURN_SECRET,
        urls: config.TURN_URLS,
        userId: user.id,
        expiresAt: credentials.expiresAt,
      });
      return { ...credentials, iceServers: [turn] };
    },
  );
};

export default sip;
