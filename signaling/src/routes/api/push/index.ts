import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../../config.js';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';

/**
 * The push socket (docs/scaling.md, docs/security.md "Routes, sessions and push"): a panel of a
 * logged-in user opens it and listens; plugins/app/push.ts sends it the whole state and then every
 * change its user may see.
 */
const push: FastifyPluginAsync<{ config: Config }> = async (app, opts) => {
  app.addHook('onRequest', async (request, reply) => {
    // Every socket starts with the whole state: there is nothing to resume from (no last event id),
    // and no parameter that could widen what it is sent (docs/scaling.md).
    if (Object.keys(request.query as object).length > 0) {
      throw new ClientError(400, 'The push socket takes no parameters: every connection starts with the whole state.');
    }
    if (request.ws && app.push.stopping) {
      // No answer at all: the proxy retries the upgrade (a GET) on another instance, where an
      // answer (a 503) would go back to the panel as a failed socket and a backoff.
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
  });

  app.get(
    '/',
    { websocket: true, prefixTrailingSlash: 'no-slash', config: { access: 'session' } },
    async (socket, request) => {
      const origin = request.headers.origin;
      const allowed = opts.config.PUBLIC_ORIGIN ?? `${request.protocol}://${request.host}`;
      if (origin !== undefined && origin !== allowed) {
        socket.close(1008, 'cross-site');
        return;
      }
      const { session, user } = authenticated(request);
      await app.push.open(socket, { sessionId: session.id, userId: user.id, role: user.role });
    },
  );
};

export default push;
