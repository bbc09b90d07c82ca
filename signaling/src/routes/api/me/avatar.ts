import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, AVATAR_MAX_BYTES } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { makeAvatar } from '../../../services/avatar-image.js';
import { toPublicUser } from '../../../services/user-store.js';

/**
 * PUT /api/me/avatar: the picture's bytes are the whole request body (no multipart), whatever the
 * Content-Type says, because what the file is gets decided from its content. This plugin is its own
 * Fastify context, so only this route reads raw bodies and only it allows AVATAR_MAX_BYTES (2 MB);
 * every other route keeps JSON and the app's 64 KB limit. DELETE removes the picture.
 */
const avatar: FastifyPluginAsyncTypebox = async (app) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.put(
    '/',
    {
      bodyLimit: AVATAR_MAX_BYTES,
      config: {
        access: 'session',
        bodyTooLargeMessage: `The picture is larger than ${AVATAR_MAX_BYTES / 1024 / 1024} MB. Choose a smaller one.`,
      },
      schema: API_ROUTES.setAvatar.schema,
    },
    async (request) => {
      const { user } = authenticated(request);
      if (!Buffer.isBuffer(request.body)) throw new ClientError(400, 'Choose a picture to upload.');
      const image = await makeAvatar(request.body);
      const version = await app.profiles.setAvatar(user.id, image);
      request.log.info({ userId: user.id, bytes: request.body.length, stored: image.length }, 'avatar changed');
      return toPublicUser({ ...user, avatarVersion: version });
    },
  );

  app.delete('/', { config: { access: 'session' }, schema: API_ROUTES.removeAvatar.schema }, async (request) => {
    const { user } = authenticated(request);
    await app.profiles.removeAvatar(user.id);
    request.log.info({ userId: user.id }, 'avatar removed');
    return toPublicUser({ ...user, avatarVersion: undefined });
  });
};

export default avatar;
