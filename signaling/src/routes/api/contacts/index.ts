import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, CONTACT_IMPORT_MAX_BYTES, type ContactImportResult } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { ContactImportRefused } from '../../../services/contact-service.js';

const importTooLarge = `The file is larger than ${CONTACT_IMPORT_MAX_BYTES / 1024 / 1024} MB. Split it, or remove the columns Deskline does not read (it reads number, name, note).`;

const importOptions = {
  bodyLimit: CONTACT_IMPORT_MAX_BYTES,
  config: { access: 'manager', bodyTooLargeMessage: importTooLarge },
} as const;

/** The import's file: the body's bytes, whatever the Content-Type says (browsers send text/csv, or nothing). */
async function csvUploads(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const run = (request: FastifyRequest, dryRun: boolean): Promise<ContactImportResult> => {
    if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
      throw new ClientError(400, 'Choose a CSV file to import.');
    }
    return app.contacts.import(request.body, { dryRun });
  };

  app.post('/import/preview', { ...importOptions, schema: API_ROUTES.previewContactImport.schema }, (request) =>
    run(request, true),
  );

  app.post('/import', { ...importOptions, schema: API_ROUTES.importContacts.schema }, async (request, reply) => {
    const { user } = authenticated(request);
    try {
      const result = await run(request, false);
      request.log.info(
        { userId: user.id, added: result.added, updated: result.updated, unchanged: result.unchanged },
        'contacts imported',
      );
      return result;
    } catch (error) {
      if (!(error instanceof ContactImportRefused)) throw error;
      request.log.info({ userId: user.id, problems: error.result.problems.length }, 'contact import refused');
      return reply.code(422).send({
        statusCode: 422,
        error: 'Unprocessable Entity',
        message: error.message,
        problems: error.result.problems,
      });
    }
  });
}

/**
 * Contacts (issue 16, item 5): names for patients' numbers. Everyone views, adds and edits them (an
 * employee saves a caller from a task, and corrects a misspelled name); managers delete, import and
 * export (a whole list of patients leaves the clinic only through a manager).
 */
const contacts: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.listContacts.schema }, () => app.contacts.list());

  app.post('/', { config: { access: 'session' }, schema: API_ROUTES.createContact.schema }, async (request, reply) => {
    const { user } = authenticated(request);
    const contact = await app.contacts.create(request.body);
    request.log.info({ userId: user.id }, 'contact added');
    return reply.code(201).send(contact);
  });

  app.post('/lookup', { config: { access: 'session' }, schema: API_ROUTES.lookupContacts.schema }, (request) =>
    app.contacts.lookup(request.body.numbers),
  );

  app.get(
    '/export',
    { config: { access: 'manager' }, schema: API_ROUTES.exportContacts.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      const csv = await app.contacts.export();
      request.log.info({ userId: user.id }, 'contacts exported');
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="contacts.csv"')
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );

  app.patch('/:number', { config: { access: 'session' }, schema: API_ROUTES.updateContact.schema }, async (request) => {
    const { user } = authenticated(request);
    const contact = await app.contacts.update(request.params.number, request.body);
    request.log.info({ userId: user.id }, 'contact changed');
    return contact;
  });

  app.delete(
    '/:number',
    { config: { access: 'manager' }, schema: API_ROUTES.deleteContact.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      await app.contacts.delete(request.params.number);
      request.log.info({ userId: user.id }, 'contact deleted');
      return reply.code(204).send(null);
    },
  );

  await app.register(csvUploads);
};

export default contacts;
