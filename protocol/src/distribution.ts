import type { Static } from '@sinclair/typebox';
import { literalUnion } from './literal-union.js';
import { Type } from './schema-builders.js';

/**
 * How calls are distributed to agents (issue 16, docs/managers.md "Distribution"): a manager's
 * settings, stored by @deskline/store's DistributionStore and read by the sip app for every ring and
 * by the agent scripts at every release, so a change takes effect on the next call.
 */

/**
 * `longest-idle`: the agent idle longest rings first. `fixed-order`: the first available agent of
 * `fixedOrder` rings (agents not listed come after, longest idle first); one who did not answer this
 * call is tried again only after the others.
 * Ring-all (every available agent rings at once) is not built yet.
 */
export const RING_STRATEGIES = ['longest-idle', 'fixed-order'] as const;
export type RingStrategy = (typeof RING_STRATEGIES)[number];

export const WRAP_UP_MAX_SECONDS = 600;
export const AUTO_PAUSE_MAX_RINGS = 20;
/** Kamailio gives up on an unanswered INVITE after 60 s; a ring never lasts longer. */
export const RING_TIMEOUT_MIN_SECONDS = 2;
export const RING_TIMEOUT_MAX_SECONDS = 60;
export const FIXED_ORDER_MAX_AGENTS = 500;

/** Why an agent is paused when the pause is not theirs: the wrap-up after a call, or missed rings. */
export const PAUSE_REASONS = ['wrap-up', 'no-answer'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];
export const PauseReasonSchema = literalUnion(PAUSE_REASONS);
export const isPauseReason = (value: unknown): value is PauseReason =>
  typeof value === 'string' && (PAUSE_REASONS as readonly string[]).includes(value);

export const DistributionSettingsSchema = Type.Object(
  {
    strategy: literalUnion(RING_STRATEGIES),
    /** userIds, first rung first (only read with `fixed-order`). */
    fixedOrder: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: FIXED_ORDER_MAX_AGENTS,
      uniqueItems: true,
    }),
    /** After a call, the agent is not rung for this long (0: at once). */
    wrapUpSeconds: Type.Integer({ minimum: 0, maximum: WRAP_UP_MAX_SECONDS }),
    /** After this many unanswered rings in a row the agent is paused (0: never). */
    autoPauseAfter: Type.Integer({ minimum: 0, maximum: AUTO_PAUSE_MAX_RINGS }),
    /** How long a workstation rings; absent: the sip app's RING_TIMEOUT_SECONDS. */
    ringTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: RING_TIMEOUT_MIN_SECONDS, maximum: RING_TIMEOUT_MAX_SECONDS }),
    ),
  },
  { additionalProperties: false },
);
export type DistributionSettings = Static<typeof DistributionSettingsSchema>;

/** What a clinic that never saved the settings has: Deskline's behaviour before issue 16. */
export const DEFAULT_DISTRIBUTION: DistributionSettings = {
  strategy: 'longest-idle',
  fixedOrder: [],
  wrapUpSeconds: 0,
  autoPauseAfter: 0,
};
