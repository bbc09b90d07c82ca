import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

/**
 * The clinic's call plan (issue 15, docs/call-plan.md): opening hours and closures, what a caller
 * hears while waiting, the keypad, the queues, the maximum wait and the overflow. Managers edit it
 * (GET/PUT /api/settings/call-plan); the sip app reads it for every new call, so a change takes
 * effect for the next call without a restart. Times of day are in CLINIC_TIME_ZONE.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The languages prompts exist in (built with espeak-ng by scripts/make-media.sh; managers may upload their own). */
export const PROMPT_LANGUAGES = ['en', 'pl'] as const;
export type PromptLanguage = (typeof PROMPT_LANGUAGES)[number];

/** "HH:MM", 00:00 to 23:59; an interval's end may also be "24:00" (midnight at the end of the day). */
export const TIME_OF_DAY_PATTERN = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
/** "YYYY-MM-DD", a calendar date in CLINIC_TIME_ZONE. */
export const DATE_PATTERN = /^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$/;
/** A queue's id: lower-case letters, digits and dashes. */
export const QUEUE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/** Keys a menu or the keypad may use. */
export const KEYPAD_DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export type KeypadDigit = (typeof KEYPAD_DIGITS)[number];

export const MAX_INTERVALS_PER_DAY = 6;
export const MAX_CLOSURES = 200;
export const MAX_QUEUES = 9;
export const CLOSURE_REASON_MAX_LENGTH = 120;
export const QUEUE_NAME_MAX_LENGTH = 60;
/** Announcement interval: 0 (off) or 10 s to 10 min. */
export const ANNOUNCEMENT_INTERVAL_MIN_SECONDS = 10;
export const ANNOUNCEMENT_INTERVAL_MAX_SECONDS = 600;
/** Maximum wait: 0 (none) or 30 s to 2 h. */
export const MAX_WAIT_MIN_SECONDS = 30;
export const MAX_WAIT_MAX_SECONDS = 7_200;
/** A voicemail message's longest length. */
export const VOICEMAIL_MIN_SECONDS = 10;
export const VOICEMAIL_MAX_SECONDS = 300;

const TimeOfDaySchema = Type.String({ pattern: TIME_OF_DAY_PATTERN.source });
const DateSchema = Type.String({ pattern: DATE_PATTERN.source });

/** Open from `start` to `end` on one day; `end` > `start` (an interval never crosses midnight: split it). */
export const OpeningIntervalSchema = Type.Object(
  { start: TimeOfDaySchema, end: TimeOfDaySchema },
  { additionalProperties: false },
);
export type OpeningInterval = Static<typeof OpeningIntervalSchema>;

/** Per weekday, the intervals the clinic answers in, sorted and not overlapping; [] = closed all day. */
export const WeeklyHoursSchema = Type.Object(
  Object.fromEntries(
    WEEKDAYS.map((day) => [day, Type.Array(OpeningIntervalSchema, { maxItems: MAX_INTERVALS_PER_DAY })]),
  ) as Record<Weekday, ReturnType<typeof Type.Array<typeof OpeningIntervalSchema>>>,
  { additionalProperties: false },
);
export type WeeklyHours = Static<typeof WeeklyHoursSchema>;

export const CLOSURE_KINDS = ['holiday', 'closure'] as const;
export type ClosureKind = (typeof CLOSURE_KINDS)[number];

/** Closed all day from `from` to `to` (inclusive; one day when equal), whatever the weekly hours say. */
export const ClosureSchema = Type.Object(
  {
    from: DateSchema,
    to: DateSchema,
    kind: literalUnion(CLOSURE_KINDS),
    reason: Type.String({ minLength: 1, maxLength: CLOSURE_REASON_MAX_LENGTH }),
  },
  { additionalProperties: false },
);
export type Closure = Static<typeof ClosureSchema>;

/**
 * Where a call goes when it cannot wait on: `voicemail` (the patient leaves a message),
 * `callback-offer` ("press 1 to be called back"; no key: the closed message), `closed-message` (the
 * closed prompt, then the clinic hangs up).
 */
export const OVERFLOW_TARGETS = ['voicemail', 'callback-offer', 'closed-message'] as const;
export type OverflowTarget = (typeof OVERFLOW_TARGETS)[number];

/** Outside the hours: the closed prompt, then a message (`voicemail`) or the clinic hangs up (`hang-up`). */
export const CLOSED_ACTIONS = ['voicemail', 'hang-up'] as const;
export type ClosedAction = (typeof CLOSED_ACTIONS)[number];

/**
 * A queue: the staff who take its calls (`memberIds`, user ids; [] = every employee and manager with
 * a workstation) and its hold music (`musicId`: a manager's upload, or null for the default). With
 * more than one queue, the menu prompt plays after the intro and each queue's `digit` picks it; the
 * first queue takes calls with no (or an unknown) choice.
 */
export const QueueSchema = Type.Object(
  {
    id: Type.String({ pattern: QUEUE_ID_PATTERN.source }),
    name: Type.String({ minLength: 1, maxLength: QUEUE_NAME_MAX_LENGTH }),
    digit: Type.Union([literalUnion(KEYPAD_DIGITS), Type.Null()]),
    memberIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 500 }),
    musicId: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type Queue = Static<typeof QueueSchema>;

export const CallPlanSchema = Type.Object(
  {
    hours: WeeklyHoursSchema,
    closures: Type.Array(ClosureSchema, { maxItems: MAX_CLOSURES }),
    closedAction: literalUnion(CLOSED_ACTIONS),
    /** Prompts play in each of these languages in turn (e.g. ['pl', 'en']). */
    languages: Type.Array(literalUnion(PROMPT_LANGUAGES), { minItems: 1, maxItems: PROMPT_LANGUAGES.length }),
    announcements: Type.Object(
      {
        /** Every this many seconds the music pauses for the caller's position; 0 = off. */
        intervalSeconds: Type.Integer({ minimum: 0, maximum: ANNOUNCEMENT_INTERVAL_MAX_SECONDS }),
        /** Also the expected wait, when the last hour's answered calls make it meaningful. */
        expectedWait: Type.Boolean(),
        /** Also "press 1 to be called back" (needs keypad.callbackDigit). */
        offerCallback: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    keypad: Type.Object(
      {
        /** While waiting: this key asks for a callback (the caller keeps their place); null = off. */
        callbackDigit: Type.Union([literalUnion(KEYPAD_DIGITS), Type.Null()]),
        /** While waiting: this key leaves a message; null = off. */
        voicemailDigit: Type.Union([literalUnion(KEYPAD_DIGITS), Type.Null()]),
      },
      { additionalProperties: false },
    ),
    queues: Type.Array(QueueSchema, { minItems: 1, maxItems: MAX_QUEUES }),
    /** Seconds in the queue before the overflow; 0 = no maximum. */
    maxWaitSeconds: Type.Integer({ minimum: 0, maximum: MAX_WAIT_MAX_SECONDS }),
    /** Where a call goes after the maximum wait. */
    overflow: literalUnion(OVERFLOW_TARGETS),
    /** Where a call goes at once when nobody who can take its queue is logged in and unpaused; null = it waits. */
    nobodyAvailable: Type.Union([literalUnion(OVERFLOW_TARGETS), Type.Null()]),
    voicemail: Type.Object(
      {
        maxSeconds: Type.Integer({ minimum: VOICEMAIL_MIN_SECONDS, maximum: VOICEMAIL_MAX_SECONDS }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type CallPlan = Static<typeof CallPlanSchema>;

/** True when `value` fits CallPlanSchema (a stored plan read back; a manager's PUT is checked by signaling). */
export function isCallPlan(value: unknown): value is CallPlan {
  return Value.Check(CallPlanSchema, value);
}

/** The plan a new installation starts with: open always, one queue, announcements off. Behaves as before issue 15. */
export const DEFAULT_CALL_PLAN: CallPlan = {
  hours: Object.fromEntries(WEEKDAYS.map((day) => [day, [{ start: '00:00', end: '24:00' }]])) as WeeklyHours,
  closures: [],
  closedAction: 'hang-up',
  languages: ['en'],
  announcements: { intervalSeconds: 0, expectedWait: true, offerCallback: false },
  keypad: { callbackDigit: null, voicemailDigit: null },
  queues: [{ id: 'main', name: 'Reception', digit: null, memberIds: [], musicId: null }],
  maxWaitSeconds: 0,
  overflow: 'voicemail',
  nobodyAvailable: null,
  voicemail: { maxSeconds: 120 },
};

/**
 * The prompts a caller may hear, each in every PROMPT_LANGUAGES language: built by
 * scripts/make-media.sh as `<media>/prompts/<lang>/<name>.wav`, replaceable by a manager's upload.
 * Numbered ones: `position-<n>` for n in 1..PROMPT_POSITIONS, `wait-<m>` ("about m minutes") for m in
 * PROMPT_WAIT_MINUTES.
 */
export const PROMPT_NAMES = [
  'intro',
  'closed',
  'menu',
  'callback-offer',
  'callback-confirmed',
  'voicemail-greeting',
  'voicemail-saved',
  'position-many',
] as const;
export type FixedPromptName = (typeof PROMPT_NAMES)[number];
export const PROMPT_POSITIONS = 20;
export const PROMPT_WAIT_MINUTES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 45, 60] as const;
export type PromptName = FixedPromptName | `position-${number}` | `wait-${number}`;
