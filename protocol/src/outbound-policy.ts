import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

/**
 * The outbound policy (issue 11, docs/security.md "Callbacks: the outbound policy"): which numbers a
 * callback may dial through the outbound trunk, how many callbacks an employee may start in a clinic
 * day, and how long an answered callback may last. Managers set it; signaling checks it when a
 * callback is asked for, the sip app again when it dials, and Kamailio checks the number's prefixes
 * once more before the INVITE reaches the trunk. Evaluated by @deskline/outbound-policy.
 */

/**
 * Kinds of numbers, as libphonenumber classifies them (its `max` metadata). A number of a kind not
 * in `allowedTypes` is refused; `UNKNOWN` is a number of the right length whose range is not known.
 */
export const NUMBER_TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'TOLL_FREE',
  'PREMIUM_RATE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
  'UNKNOWN',
] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

/** In words, for the manager's screen and the refusals. */
export const NUMBER_TYPE_NAMES: Record<NumberType, string> = {
  FIXED_LINE: 'geographic (landline)',
  MOBILE: 'mobile',
  FIXED_LINE_OR_MOBILE: 'landline or mobile',
  TOLL_FREE: 'toll-free',
  PREMIUM_RATE: 'premium-rate',
  SHARED_COST: 'shared-cost',
  VOIP: 'VoIP',
  PERSONAL_NUMBER: 'personal',
  PAGER: 'pager',
  UAN: 'company-wide (UAN)',
  VOICEMAIL: 'voicemail access',
  UNKNOWN: 'unclassified',
};

/** The kinds allowed by default: landlines and mobiles, nothing that costs extra. */
export const DEFAULT_ALLOWED_NUMBER_TYPES: readonly NumberType[] = ['FIXED_LINE', 'MOBILE', 'FIXED_LINE_OR_MOBILE'];

/** An E.164 prefix: `+`, a country code's first digit (1 to 9), up to 14 more digits. */
export const E164_PREFIX_PATTERN = /^\+[1-9][0-9]{0,14}$/;
/**
 * What the trunk is sent: a whole E.164 number, `+` and 6 to 15 digits (E.164's longest). Kamailio's
 * route TO_TRUNK checks the same pattern.
 */
export const E164_NUMBER_PATTERN = /^\+[1-9][0-9]{5,14}$/;

export const OUTBOUND_POLICY_MAX_PREFIXES = 200;
export const CALLBACKS_PER_DAY_MAX = 10_000;
export const CALLBACK_DURATION_MIN_SECONDS = 5;
export const CALLBACK_DURATION_MAX_SECONDS = 24 * 60 * 60;
export const DEFAULT_CALLBACKS_PER_DAY = 50;
export const DEFAULT_CALLBACK_MAX_SECONDS = 30 * 60;

const E164PrefixSchema = Type.String({ pattern: E164_PREFIX_PATTERN.source });

export const OutboundPolicySchema = Type.Object(
  {
    /** E.164 prefixes a number must start with, e.g. "+48" (a country) or "+4822" (Warsaw). */
    allowedPrefixes: Type.Array(E164PrefixSchema, { maxItems: OUTBOUND_POLICY_MAX_PREFIXES }),
    /** E.164 prefixes refused even inside an allowed one, e.g. "+4870" (Polish premium rate). */
    deniedPrefixes: Type.Array(E164PrefixSchema, { maxItems: OUTBOUND_POLICY_MAX_PREFIXES }),
    /** The kinds of number allowed (see NUMBER_TYPES). */
    allowedTypes: Type.Array(literalUnion(NUMBER_TYPES), { maxItems: NUMBER_TYPES.length }),
    /** Callbacks one employee may start in a clinic day (CLINIC_TIME_ZONE); 0 turns callbacks off. */
    maxCallbacksPerDay: Type.Integer({ minimum: 0, maximum: CALLBACKS_PER_DAY_MAX }),
    /** An answered callback is hung up (both sides) after this many seconds. */
    maxDurationSeconds: Type.Integer({
      minimum: CALLBACK_DURATION_MIN_SECONDS,
      maximum: CALLBACK_DURATION_MAX_SECONDS,
    }),
  },
  { additionalProperties: false },
);
export type OutboundPolicy = Static<typeof OutboundPolicySchema>;

/** GET and PUT /api/settings/outbound-policy (managers): the policy, and the clinic's country it reads numbers in. */
export const OutboundPolicyResponseSchema = Type.Object({
  policy: OutboundPolicySchema,
  /** CLINIC_COUNTRY (ISO 3166-1 alpha-2): numbers without a country code are read as this country's. */
  country: Type.String(),
  /** The country's calling code, e.g. "+48". */
  countryPrefix: Type.String(),
});
export type OutboundPolicyResponse = Static<typeof OutboundPolicyResponseSchema>;

/** The sip app's reason phrase when the policy refuses a callback as it dials; the softphone says it in words. */
export const OUTSIDE_POLICY_REASON_PHRASE = 'Outside Callback Policy';
/**
 * The Reason header (RFC 3326) of the BYEs that end a callback at the policy's longest duration: the
 * softphone tells the employee why the call ended.
 */
export const MAX_DURATION_BYE_REASON = 'Q.850;cause=16;text="max-duration"';

/** Why a number is refused; `message` (in the evaluation) says it in words. */
export type PolicyRefusal = 'not-a-number' | 'not-allowed-prefix' | 'denied-prefix' | 'type-not-allowed';
