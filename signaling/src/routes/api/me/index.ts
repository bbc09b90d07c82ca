import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticated } from '../../../plugins/app/auth.js';
import { toPublicUser } from '../../../services/user-store.js';
import { SessionInfoSchema, errorResponses } from '../../../schemas.js';

/** Who is logged in, and the CSRF token of this session (the web app calls this on start). */
const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: { response: { 200: SessionInfoSchema, ...errorResponses } } }, async (request) => {
    const { user, session } = authenticated(request);
    return { user: toPublicUser(user), csrfToken: session.csrfToken };
  });
};

export default me;
