import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_ROUTES, type DayStatistics } from '@deskline/protocol';
import type { Config } from '../../../config.js';
import { StatisticsService } from '../../../services/statistics.js';

/**
 * A day's call statistics for managers (docs/call-board.md, "Statistics"), computed on request from
 * the call records and callbacks of that day in CLINIC_TIME_ZONE.
 */
const statistics: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new StatisticsService(app.redis, app.users, app.subjects, config.CLINIC_TIME_ZONE);

  app.get(
    '/',
    {
      config: { access: 'manager' },
      schema: API_ROUTES.statistics.schema,
    },
    async (request): Promise<DayStatistics> => service.day(request.query.date ?? service.today()),
  );
};

export default statistics;
