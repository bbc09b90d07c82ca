import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, VOICEMAIL_CONTENT_TYPE, taskVisibleTo } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';

/** A Range header of one byte range; anything else (several ranges, other units) gets the whole file. */
const SINGLE_RANGE = /^bytes=(\d{0,15})-(\d{0,15})$/;

/**
 * The bytes `range` asks of a file of `size` bytes: undefined for the whole file (no header, or one
 * this route does not serve as ranges: several ranges, other units, garbage, RFC 9110 lets a server
 * ignore it), 'unsatisfiable' for a range outside the file (416).
 */
export function byteRange(
  range: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (range === undefined) return undefined;
  const match = SINGLE_RANGE.exec(range.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes; bytes=-0 asks for none of them.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Voicemail (docs/call-plan.md, "Voicemail"): a message's audio, for whoever may see its call on the
 * board (managers always), by id only and never as a static path, with Range requests so that an
 * <audio> element can seek, and never cached; each request is written to the audit log, which
 * managers read.
 */
const voicemail: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/audit', { config: { access: 'manager' }, schema: API_ROUTES.voicemailAudit.schema }, async () => ({
    plays: await app.voicemail.store.plays(),
  }));

  app.get(
    '/:id/audio',
    { config: { access: 'session' }, schema: API_ROUTES.voicemailAudio.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      const found = await app.voicemail.openAudio(request.params.id);
      if (!found) throw new ClientError(404, 'No such message.');
      const { message, file } = found;
      try {
        if (user.role !== 'manager') {
          // The message's task (through its call, or the patient's open task that holds it): staff
          // who may not see it on the board may not hear it either, and without a task only managers may.
          const byCall = await app.redis.get(RedisKeys.callTask(message.callId));
          const byPatient = byCall ? null : await app.redis.get(RedisKeys.patientTask(message.from));
          const taskId = byCall ?? byPatient;
          const task = taskId ? await app.tasks.get(taskId) : undefined;
          const holds = task !== undefined && (byCall !== null || task.voicemail?.id === message.id);
          if (!holds || !taskVisibleTo(task, { userId: user.id, role: user.role })) {
            throw new ClientError(403, 'This message belongs to a task you do not see on the board.');
          }
        }
        if (!file) {
          // Lost on disk: its task says so on every board instead of offering a player that fails.
          await app.tasks.voicemailRemoved(message.id, { reason: 'file-missing', at: Date.now() });
          request.log.warn({ voicemailId: message.id }, 'voicemail: the audio file is missing');
          throw new ClientError(404, "This message's audio file is missing on the server.");
        }
        const { size } = found;
        const rangeHeader = request.headers.range;
        const range = byteRange(rangeHeader, size);
        reply
          .header('content-type', VOICEMAIL_CONTENT_TYPE)
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          .header('accept-ranges', 'bytes');
        if (range === 'unsatisfiable') {
          await file.close();
          return reply
            .code(416)
            .header('content-type', 'application/json; charset=utf-8')
            .header('content-range', `bytes */${size}`)
            .send({ statusCode: 416, error: 'Range Not Satisfiable', message: `The file has ${size} bytes.` });
        }
        await app.voicemail.store.audit({
          voicemailId: message.id,
          userId: user.id,
          at: Date.now(),
          range: rangeHeader?.slice(0, 100) ?? '',
        });
        const { start, end } = range ?? { start: 0, end: size - 1 };
        if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
        reply.header('content-length', String(size === 0 ? 0 : end - start + 1));
        if (size === 0) {
          await file.close();
          return reply.send(new Uint8Array());
        }
        // A stream of the file's bytes; the schema's binary body is what the serializer leaves alone.
        return reply.send(file.createReadStream({ start, end, autoClose: true }) as unknown as Uint8Array);
      } catch (err) {
        await file?.close().catch(() => undefined);
        throw err;
      }
    },
  );
};

export default voicemail;
