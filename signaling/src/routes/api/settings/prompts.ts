import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  API_ROUTES,
  HOLD_MUSIC_MAX_SECONDS,
  PROMPT_UPLOAD_MAX_BYTES,
  isPromptLanguage,
  isPromptName,
  type PromptLanguage,
  type PromptName,
  type PromptParams,
} from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';

/** The language and name of a prompt that exists, or 404 (as for a path that does not exist). */
function promptOf(params: PromptParams): { language: PromptLanguage; name: PromptName } {
  if (!isPromptLanguage(params.lang)) throw new ClientError(404, `There are no prompts in "${params.lang}".`);
  if (!isPromptName(params.name)) throw new ClientError(404, `There is no prompt called "${params.name}".`);
  return { language: params.lang, name: params.name };
}

/** One `bytes=a-b` range of a file of `size` bytes (`bytes=a-`, `bytes=-n` too), or undefined for several. */
function byteRange(header: string, size: number): { start: number; end: number } | undefined | 'unsatisfiable' {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [first, last] = [match[1] ?? '', match[2] ?? ''];
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

/** In this plugin's context only: a request body is its bytes, whatever the Content-Type says. */
function takeRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}

/** A WAV for an <audio> element: never cached (it changes under the same URL), and one byte range when asked. */
function sendAudio(request: FastifyRequest, reply: FastifyReply, audio: Buffer): FastifyReply {
  reply.header('content-type', 'audio/wav').header('cache-control', 'no-store').header('accept-ranges', 'bytes');
  const range = request.headers.range === undefined ? undefined : byteRange(request.headers.range, audio.length);
  if (range === 'unsatisfiable') {
    throw new ClientError(416, 'The range asked for is not in the file.', {
      'content-range': `bytes */${audio.length}`,
    });
  }
  if (range === undefined) return reply.send(audio);
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${audio.length}`)
    .send(audio.subarray(range.start, range.end + 1));
}

const uploadTooLarge = `The recording is larger than ${PROMPT_UPLOAD_MAX_BYTES / 1024 / 1024} MB. Shorten it or save it as MP3.`;

/**
 * The call plan's prompts (docs/call-plan.md, "Prompts"), managers only: the list, each prompt's
 * audio for the preview, a manager's recording in place of one (PUT: the recording's bytes are the
 * whole body, WAV, MP3 or Ogg whatever the Content-Type says, up to PROMPT_UPLOAD_MAX_BYTES), and back
 * to the built-in one (DELETE). Its own Fastify context, so that only these routes read raw bodies.
 */
const prompts: FastifyPluginAsyncTypebox = async (app) => {
  takeRawBodies(app);

  app.get('/', { config: { access: 'manager' }, schema: API_ROUTES.listPrompts.schema }, () => app.prompts.list());

  app.get(
    '/:lang/:name/audio',
    { config: { access: 'manager' }, schema: API_ROUTES.promptAudio.schema },
    async (request, reply) => {
      const { language, name } = promptOf(request.params);
      return sendAudio(request, reply, await app.prompts.audio(language, name));
    },
  );

  app.put(
    '/:lang/:name',
    {
      bodyLimit: PROMPT_UPLOAD_MAX_BYTES,
      config: {
        access: 'manager',
        bodyTooLargeMessage: uploadTooLarge,
      },
      schema: API_ROUTES.setPrompt.schema,
    },
    async (request) => {
      const { user } = authenticated(request);
      const { language, name } = promptOf(request.params);
      if (!Buffer.isBuffer(request.body)) throw new ClientError(400, 'Choose a recording to upload.');
      const info = await app.prompts.upload(language, name, request.body, user);
      request.log.info(
        { userId: user.id, language, name, bytes: request.body.length, ms: info.durationMs },
        'prompt uploaded',
      );
      return info;
    },
  );

  app.delete(
    '/:lang/:name',
    { config: { access: 'manager' }, schema: API_ROUTES.resetPrompt.schema },
    async (request) => {
      const { user } = authenticated(request);
      const { language, name } = promptOf(request.params);
      const info = await app.prompts.reset(language, name);
      request.log.info({ userId: user.id, language, name }, 'prompt back to the built-in one');
      return info;
    },
  );
};

/**
 * The hold music a manager may upload in place of the built-in loop (HOLD_MUSIC_ID, up to
 * HOLD_MUSIC_MAX_SECONDS): its audio for the preview, PUT and DELETE as for a prompt. Listed with the
 * prompts (GET /api/settings/prompts).
 */
export const holdMusic: FastifyPluginAsyncTypebox = async (app) => {
  takeRawBodies(app);

  app.get(
    '/audio',
    { config: { access: 'manager' }, schema: API_ROUTES.holdMusicAudio.schema },
    async (request, reply) => sendAudio(request, reply, await app.prompts.holdMusicAudio()),
  );

  app.put(
    '/',
    {
      bodyLimit: PROMPT_UPLOAD_MAX_BYTES,
      config: { access: 'manager', bodyTooLargeMessage: uploadTooLarge },
      schema: API_ROUTES.setHoldMusic.schema,
    },
    async (request) => {
      const { user } = authenticated(request);
      if (!Buffer.isBuffer(request.body)) throw new ClientError(400, 'Choose a recording to upload.');
      const info = await app.prompts.uploadHoldMusic(request.body, user);
      request.log.info(
        { userId: user.id, bytes: request.body.length, ms: info.durationMs, maxSeconds: HOLD_MUSIC_MAX_SECONDS },
        'hold music uploaded',
      );
      return info;
    },
  );

  app.delete('/', { config: { access: 'manager' }, schema: API_ROUTES.resetHoldMusic.schema }, async (request) => {
    const { user } = authenticated(request);
    const info = await app.prompts.resetHoldMusic();
    request.log.info({ userId: user.id }, 'hold music back to the built-in loop');
    return info;
  });
};

export default prompts;
