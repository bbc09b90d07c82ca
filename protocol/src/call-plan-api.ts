import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { CallPlanSchema, ClosureSchema, QueueSchema } from './call-plan.js';

/**
 * The call plan's routes (docs/call-plan.md, "For clinic IT"): GET and PUT
 * /api/settings/call-plan, GET /api/settings/call-plan/preview, and GET /api/queues. A PUT that the schema accepts
 * but validateCallPlan does not is refused 400 with each problem on a line of its own in `message`.
 */

/** The plan in force, and the time zone its hours are in (CLINIC_TIME_ZONE). */
export const CallPlanResponseSchema = Type.Object({
  plan: CallPlanSchema,
  timeZone: Type.String(),
});
export type CallPlanResponse = Static<typeof CallPlanResponseSchema>;

/** `at`: an ISO 8601 date-time with its offset or Z (e.g. 2026-12-25T10:00:00+01:00); absent = now. */
export const CallPlanPreviewQuerySchema = Type.Object(
  { at: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })) },
  { additionalProperties: false },
);
export type CallPlanPreviewQuery = Static<typeof CallPlanPreviewQuerySchema>;

/** What a caller would hear at `at` (previewCallPlan): open or not, and the steps in words. */
export const CallPlanPreviewSchema = Type.Object({
  at: Type.Integer(),
  open: Type.Boolean(),
  closure: Type.Optional(ClosureSchema),
  /** When the state changes next (epoch ms): the opening when closed, the closing when open. */
  opensAt: Type.Optional(Type.Integer()),
  closesAt: Type.Optional(Type.Integer()),
  steps: Type.Array(Type.String()),
});
export type CallPlanPreview = Static<typeof CallPlanPreviewSchema>;

/**
 * GET /api/queues (everyone logged in): the plan's queues by id and name, in the plan's order, for the
 * board's queue filter. Nothing else of the plan: who belongs to which queue and the rest are managers'.
 */
export const QueueListSchema = Type.Object({
  queues: Type.Array(
    Type.Object({ id: QueueSchema.properties.id, name: QueueSchema.properties.name }, { additionalProperties: false }),
  ),
});
export type QueueList = Static<typeof QueueListSchema>;
