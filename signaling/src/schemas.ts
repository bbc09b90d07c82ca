import { Type } from '@sinclair/typebox';
import {
  AGENT_STATES,
  CALLBACK_OUTCOMES,
  CALLBACK_STATES,
  CALL_STATES,
  PROBLEM_KINDS,
  PROBLEM_NOTE_MAX_LENGTH,
  TASK_COMMENT_MAX_LENGTH,
  TASK_STATUSES,
  TASK_TABS,
  DISPLAY_NAME_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PAUSE_MAX_MINUTES,
  ROLES,
  SUBJECT_NAME_MAX_LENGTH,
  WORKSTATION_KINDS,
  CALLBACKS_PER_DAY_MAX,
  CALLBACK_DURATION_MAX_SECONDS,
  CALLBACK_DURATION_MIN_SECONDS,
  NUMBER_TYPES,
  OUTBOUND_POLICY_MAX_PREFIXES,
} from '@deskline/protocol';

/** JSON schemas of the API's bodies and responses; the TypeScript types of the routes come from these. */

export const ApiErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
});

export const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)));

export const PublicUserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  avatarUrl: Type.Optional(Type.String()),
});

export const SessionInfoSchema = Type.Object({
  user: PublicUserSchema,
  csrfToken: Type.String(),
});

export const EmailSchema = Type.String({ format: 'email', maxLength: 254 });

export const LoginBodySchema = Type.Object(
  {
    email: EmailSchema,
    // Length rules apply when a password is set; at login any length up to the bound is checked.
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 }),
  },
  { additionalProperties: false },
);

export const CreateUserBodySchema = Type.Object(
  {
    email: EmailSchema,
    displayName: Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH * 2 }),
    role: RoleSchema,
    password: Type.String({ maxLength: PASSWORD_MAX_LENGTH * 4 }),
  },
  { additionalProperties: false },
);

export const UpdateProfileBodySchema = Type.Object(
  { displayName: Type.String({ maxLength: DISPLAY_NAME_MAX_LENGTH * 2 }) },
  { additionalProperties: false },
);

export const ChangePasswordBodySchema = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 }),
    // The length rules are checked by passwordProblem, which says what is wrong in words.
    newPassword: Type.String({ maxLength: PASSWORD_MAX_LENGTH * 4 }),
  },
  { additionalProperties: false },
);

export const UserPreferencesSchema = Type.Object({ notifications: Type.Boolean() }, { additionalProperties: false });

export const WorkstationKindSchema = Type.Union(WORKSTATION_KINDS.map((kind) => Type.Literal(kind)));

export const WorkstationSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: WorkstationKindSchema,
  sipUser: Type.Optional(Type.String()),
});

export const WorkstationListItemSchema = Type.Composite([
  WorkstationSchema,
  Type.Object({
    holder: Type.Optional(Type.Object({ userId: Type.String(), displayName: Type.String() })),
    registered: Type.Boolean(),
  }),
]);

export const CreatedWorkstationSchema = Type.Composite([WorkstationSchema, Type.Object({ sipPassword: Type.Optional(Type.String()) })]);

export const CreateWorkstationBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 60 }),
    kind: WorkstationKindSchema,
    // The format is checked by the store, so that the API and the CLI give the same message.
    sipUser: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const AgentStateSchema = Type.Union(AGENT_STATES.map((state) => Type.Literal(state)));

/** What the workstation and pause routes answer: the user's agent state, workstation and pause. */
export const AgentStatusSchema = Type.Object({
  state: AgentStateSchema,
  workstation: Type.Optional(WorkstationSchema),
  pausedUntil: Type.Optional(Type.Integer()),
  pausedAt: Type.Optional(Type.Integer()),
});

export const TeamMemberSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  avatarUrl: Type.Optional(Type.String()),
  state: AgentStateSchema,
  workstation: Type.Optional(WorkstationSchema),
  pausedUntil: Type.Optional(Type.Integer()),
  online: Type.Boolean(),
});

export const PauseBodySchema = Type.Object(
  { minutes: Type.Integer({ minimum: 1, maximum: PAUSE_MAX_MINUTES }) },
  { additionalProperties: false },
);

export const MissedCallsSchema = Type.Object({
  from: Type.Optional(Type.Integer()),
  to: Type.Optional(Type.Integer()),
  calls: Type.Array(Type.Object({ id: Type.String(), from: Type.String(), endedAt: Type.Integer() })),
});

export const SubjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  retired: Type.Boolean(),
  createdAt: Type.Integer(),
});

/** The store checks the tidied name's length, so that the API and the CLI give the same message. */
const SubjectNameSchema = Type.String({ maxLength: SUBJECT_NAME_MAX_LENGTH * 2 });

export const CreateSubjectBodySchema = Type.Object({ name: SubjectNameSchema }, { additionalProperties: false });

export const UpdateSubjectBodySchema = Type.Object({ name: Type.Optional(SubjectNameSchema) }, { additionalProperties: false });

export const SubjectParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ListSubjectsQuerySchema = Type.Object(
  { all: Type.Optional(Type.Boolean({ description: 'include retired subjects (managers only)' })) },
  { additionalProperties: false },
);

export const StatisticsQuerySchema = Type.Object(
  {
    // A real calendar date is checked by the service, which says what is wrong in words.
    date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "YYYY-MM-DD in the clinic's zone; default today" })),
  },
  { additionalProperties: false },
);

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)));

export const CallViewSchema = Type.Object({
  id: Type.String(),
  from: Type.String(),
  line: Type.String(),
  state: literals(CALL_STATES),
  startedAt: Type.Integer(),
  queuedAt: Type.Optional(Type.Integer()),
  answeredAt: Type.Optional(Type.Integer()),
  endedAt: Type.Optional(Type.Integer()),
  agentUserId: Type.Optional(Type.String()),
  workstationId: Type.Optional(Type.String()),
});

export const CallbackViewSchema = Type.Object({
  id: Type.String(),
  taskId: Type.String(),
  number: Type.String(),
  userId: Type.String(),
  workstationId: Type.String(),
  state: literals(CALLBACK_STATES),
  outcome: Type.Optional(literals(CALLBACK_OUTCOMES)),
  startedAt: Type.Integer(),
  answeredAt: Type.Optional(Type.Integer()),
  endedAt: Type.Optional(Type.Integer()),
});

export const ProblemKindSchema = literals(PROBLEM_KINDS);

export const TaskSchema = Type.Object({
  id: Type.String(),
  patient: Type.String(),
  status: literals(TASK_STATUSES),
  assigneeUserId: Type.Optional(Type.String()),
  call: Type.Optional(CallViewSchema),
  callback: Type.Optional(CallbackViewSchema),
  callIds: Type.Array(Type.String()),
  attempts: Type.Integer(),
  callbacks: Type.Array(
    Type.Object({
      callbackId: Type.String(),
      userId: Type.String(),
      at: Type.Integer(),
      outcome: Type.Optional(literals(CALLBACK_OUTCOMES)),
    }),
  ),
  subjectId: Type.Optional(Type.String()),
  comment: Type.Optional(Type.String()),
  problems: Type.Array(
    Type.Object({
      kind: ProblemKindSchema,
      note: Type.Optional(Type.String()),
      callId: Type.Optional(Type.String()),
      userId: Type.String(),
      at: Type.Integer(),
    }),
  ),
  previousSubjectId: Type.Optional(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  closedAt: Type.Optional(Type.Integer()),
  closedByUserId: Type.Optional(Type.String()),
});

export const TaskListSchema = Type.Object({ tasks: Type.Array(TaskSchema) });

export const TASK_LIST_DEFAULT_LIMIT = 100;
export const TASK_LIST_MAX_LIMIT = 500;

export const ListTasksQuerySchema = Type.Object(
  {
    tab: literals(TASK_TABS),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: TASK_LIST_MAX_LIMIT, default: TASK_LIST_DEFAULT_LIMIT })),
  },
  { additionalProperties: false },
);

const NullableMs = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

export const StatisticsFiguresSchema = Type.Object({
  received: Type.Integer(),
  answered: Type.Integer(),
  abandonedDuringIntro: Type.Integer(),
  abandonedWhileWaiting: Type.Integer(),
  callbacks: Type.Integer(),
  callbackOutcomes: Type.Object(Object.fromEntries(CALLBACK_OUTCOMES.map((outcome) => [outcome, Type.Integer()]))),
  waitAverageMs: NullableMs,
  waitP90Ms: NullableMs,
});

export const DayStatisticsSchema = Type.Object({
  date: Type.String(),
  timeZone: Type.String(),
  total: StatisticsFiguresSchema,
  users: Type.Array(Type.Object({ userId: Type.String(), name: Type.String(), figures: StatisticsFiguresSchema })),
  hours: Type.Array(
    Type.Object({ hour: Type.Integer(), received: Type.Integer(), answered: Type.Integer(), abandoned: Type.Integer() }),
  ),
});

export const TaskParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const UpdateTaskBodySchema = Type.Object(
  {
    subjectId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    comment: Type.Optional(Type.String({ maxLength: TASK_COMMENT_MAX_LENGTH })),
  },
  { additionalProperties: false },
);

export const ReportProblemBodySchema = Type.Object(
  { kind: ProblemKindSchema, note: Type.Optional(Type.String({ maxLength: PROBLEM_NOTE_MAX_LENGTH })) },
  { additionalProperties: false },
);

export const EmptyBodySchema = Type.Object({}, { additionalProperties: false });

export const CallbackStartSchema = Type.Object({ callbackId: Type.String(), target: Type.String() });

const E164PrefixSchema = Type.String({ pattern: '^\\+[1-9][0-9]{0,14}$' });

export const OutboundPolicySchema = Type.Object(
  {
    allowedPrefixes: Type.Array(E164PrefixSchema, { maxItems: OUTBOUND_POLICY_MAX_PREFIXES }),
    deniedPrefixes: Type.Array(E164PrefixSchema, { maxItems: OUTBOUND_POLICY_MAX_PREFIXES }),
    allowedTypes: Type.Array(Type.Union(NUMBER_TYPES.map((type) => Type.Literal(type))), { maxItems: NUMBER_TYPES.length }),
    maxCallbacksPerDay: Type.Integer({ minimum: 0, maximum: CALLBACKS_PER_DAY_MAX }),
    maxDurationSeconds: Type.Integer({ minimum: CALLBACK_DURATION_MIN_SECONDS, maximum: CALLBACK_DURATION_MAX_SECONDS }),
  },
  { additionalProperties: false },
);

export const OutboundPolicyResponseSchema = Type.Object({
  policy: OutboundPolicySchema,
  country: Type.String(),
  countryPrefix: Type.String(),
});

export const errorResponses = {
  400: ApiErrorSchema,
  401: ApiErrorSchema,
  403: ApiErrorSchema,
} as const;
