import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { CSRF_HEADER } from '@deskline/protocol';
import type { Config } from '../../config.js';
import { ClientError } from '../../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Defence against cross-site request forgery, in layers: the session cookie is SameSite=Strict;
 * a state-changing request that names a foreign Origin (or that the browser marks cross-site) is
 * refused; and every state-changing request in a session must carry that session's token in the
 * x-csrf-token header, which a page on another site cannot read or set. Like the session check, it
 * applies to the route the router matched, whatever spelling of its path was sent; an unmatched
 * path is a 404 anyway.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const allowedOrigin = (request: FastifyRequest): string =>
      opts.config.PUBLIC_ORIGIN ?? `${request.protocol}://${request.host}`;

    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (SAFE_METHODS.has(request.method) || request.is404) return;
      const origin = request.headers.origin;
      const fetchSite = request.headers['sec-fetch-site'];
      if ((origin !== undefined && origin !== allowedOrigin(request)) || fetchSite === 'cross-site') {
        throw new ClientError(403, 'Cross-site request refused.');
      }
      if (!request.session) return;
      const token = request.headers[CSRF_HEADER];
      if (typeof token !== 'string' || !sameToken(token, request.session.csrfToken)) {
        throw new ClientError(403, 'Missing or invalid CSRF token. Reload the page and try again.');
      }
    });
  },
  { name: 'csrf', dependencies: ['auth'] },
);
