import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES } from '@deskline/protocol';
import { ClientError } from '../../../errors.js';

/**
 * What calls are about (issue 5), under three fixed categories (issue 16): everyone lists the subjects
 * (the active ones to choose from, and with `all` the retired ones that old tasks still name);
 * managers add, rename, move to another category, reorder, retire and restore them. Each change is
 * pushed to every panel (SubjectRecords announces it).
 */
const subjects: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.listSubjects.schema }, async (request) => {
    // Retired subjects are listed to everyone who asks: old tasks still show their names.
    return app.subjects.list({ all: request.query.all === true });
  });

  app.post(
    '/',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.createSubject.schema,
    },
    async (request, reply) => {
      const subject = await app.subjects.create(request.body);
      request.log.info({ subjectId: subject.id }, 'subject created');
      return reply.code(201).send(subject);
    },
  );

  app.patch(
    '/:id',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.renameSubject.schema,
    },
    async (request) => {
      const { id } = request.params;
      const { name, category } = request.body;
      let subject = await app.subjects.get(id);
      if (!subject) throw new ClientError(404, 'No such subject.');
      if (name !== undefined) {
        subject = await app.subjects.rename(id, name);
        request.log.info({ subjectId: id }, 'subject renamed');
      }
      if (category !== undefined && category !== subject.category) {
        subject = await app.subjects.move(id, category);
        request.log.info({ subjectId: id, category }, 'subject moved');
      }
      return subject;
    },
  );

  app.post(
    '/reorder',
    { config: { access: 'manager' }, schema: API_ROUTES.reorderSubjects.schema },
    async (request) => {
      const { category, ids } = request.body;
      const subjects = await app.subjects.reorder(category, ids);
      request.log.info({ category }, 'subjects reordered');
      return subjects;
    },
  );

  for (const action of ['retire', 'restore'] as const) {
    app.post(
      `/:id/${action}`,
      {
        config: { access: 'manager' },
        schema: API_ROUTES[`${action}Subject`].schema,
      },
      async (request) => {
        const subject = await app.subjects[action](request.params.id);
        request.log.info({ subjectId: subject.id }, `subject ${action}d`);
        return subject;
      },
    );
  }
};

export default subjects;
