import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiErrorSchema, CreateWorkstationBodySchema, WorkstationSchema, errorResponses } from '../../../schemas.js';

/** The clinic's workstations: everyone may list them (to pick one); managers create them. */
const workstations: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: { response: { 200: Type.Array(WorkstationSchema), ...errorResponses } } }, async () =>
    app.workstations.list(),
  );

  app.post(
    '/',
    {
      config: { role: 'manager' },
      schema: {
        body: CreateWorkstationBodySchema,
        response: { 201: WorkstationSchema, ...errorResponses, 409: ApiErrorSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await app.workstations.create(request.body)),
  );
};

export default workstations;
