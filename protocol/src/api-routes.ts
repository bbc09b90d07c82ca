import type { Static, TNull, TSchema } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import {
  AgentStatusSchema,
  ApiErrorSchema,
  CreateUserBodySchema,
  CreateWorkstationBodySchema,
  CreatedWorkstationSchema,
  HealthSchema,
  LoginBodySchema,
  RenameWorkstationBodySchema,
  PublicUserSchema,
  SelectWorkstationBodySchema,
  SessionInfoSchema,
  SipCredentialsSchema,
  UserParamsSchema,
  WorkstationListItemSchema,
  WorkstationParamsSchema,
  WorkstationSchema,
} from './api.js';
import { CallbackStartSchema } from './callbacks.js';
import {
  ContactImportRefusedSchema,
  ContactImportResultSchema,
  ContactLookupBodySchema,
  ContactLookupSchema,
  ContactParamsSchema,
  ContactSchema,
  CreateContactBodySchema,
  UpdateContactBodySchema,
} from './contacts.js';
import { CallPlanSchema } from './call-plan.js';
import {
  CallPlanPreviewQuerySchema,
  CallPlanPreviewSchema,
  CallPlanResponseSchema,
  QueueListSchema,
} from './call-plan-api.js';
import { DistributionSettingsSchema } from './distribution.js';
import { VoicemailAuditSchema, VoicemailParamsSchema } from './voicemail.js';
import { OutboundPolicyResponseSchema, OutboundPolicySchema } from './outbound-policy.js';
import { OutcomeSettingsSchema } from './outcomes.js';
import { MissedCallsSchema, PauseBodySchema } from './pause.js';
import { HoldMusicInfoSchema, PromptInfoSchema, PromptListSchema, PromptParamsSchema } from './prompts.js';
import { ChangePasswordBodySchema, UpdateProfileBodySchema, UserPreferencesSchema } from './profile.js';
import { DayStatisticsSchema, StatisticsQuerySchema } from './statistics.js';
import {
  CreateSubjectBodySchema,
  ListSubjectsQuerySchema,
  ReorderSubjectsBodySchema,
  SubjectParamsSchema,
  SubjectSchema,
  UpdateSubjectBodySchema,
} from './subjects.js';
import {
  ListTasksQuerySchema,
  ReportProblemBodySchema,
  TaskListSchema,
  TaskParamsSchema,
  TaskSchema,
  UpdateTaskBodySchema,
} from './tasks.js';
import { TeamMemberSchema } from './team.js';
import {
  CreatedUserSchema,
  IssuedCredentialsSchema,
  ResetPasswordBodySchema,
  SetupAccountBodySchema,
  UserRoleBodySchema,
} from './staff.js';

/** A route's schemas, in the shape Fastify takes them: signaling registers each route with its `schema`. */
export interface RouteSchema {
  readonly params?: TSchema;
  readonly querystring?: TSchema;
  readonly body?: TSchema;
  readonly response: Readonly<Record<number, TSchema>>;
}

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The registered path, with `:name` parameters. */
  readonly path: string;
  /** Absent only for the push WebSocket, whose messages are PushEvent (events.ts). */
  readonly schema?: RouteSchema;
  /** The request body is a file's bytes (a Blob in the browser), not JSON. */
  readonly bytesBody?: true;
  /** The browser does not call it through ApiClient: it loads it as an <img>, or opens it as a WebSocket. */
  readonly browserLoads?: true;
}

/** The answers every session route may give before its handler runs: bad input, no session, a CSRF refusal or a manager-only route. */
export const errorResponses = {
  400: ApiErrorSchema,
  401: ApiErrorSchema,
  403: ApiErrorSchema,
} as const;

const NoContentSchema = Type.Null();

/** What a picture's route sends: its bytes (image/webp), which a JSON serializer never touches. */
const PictureSchema = Type.Unsafe<Uint8Array>({
  type: 'string',
  format: 'binary',
  description: 'the picture, image/webp',
});

/** An audio file's bytes (a prompt's audio/wav, a voicemail message's audio/mpeg), whole (200) or a range of them (206). */
const AudioSchema = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary', description: 'the audio' });

/** A CSV file's text (text/csv). */
const CsvSchema = Type.Unsafe<string>({ type: 'string', description: 'a CSV file, text/csv' });

const taskResponses = { 200: TaskSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema } as const;
const pauseResponses = { 200: AgentStatusSchema, ...errorResponses, 409: ApiErrorSchema } as const;
const userChange = { 200: PublicUserSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema } as const;
const subjectChange = {
  params: SubjectParamsSchema,
  response: { 200: SubjectSchema, ...errorResponses, 404: ApiErrorSchema },
} as const;

/**
 * The REST API, route by route: the one definition of each route's path and schemas. Signaling
 * registers every route with the schema named here (tests/integration/signaling/contract.test.ts
 * checks that the app's routes are exactly these), and the web app's ApiClient has one method per
 * route, named as here, whose types come from these schemas.
 */
export const API_ROUTES = {
  health: { method: 'GET', path: '/api/health', schema: { response: { 200: HealthSchema, 503: ApiErrorSchema } } },

  login: {
    method: 'POST',
    path: '/api/auth/login',
    schema: { body: LoginBodySchema, response: { 200: SessionInfoSchema, ...errorResponses, 429: ApiErrorSchema } },
  },
  logout: {
    method: 'POST',
    path: '/api/auth/logout',
    schema: { response: { 204: NoContentSchema, ...errorResponses } },
  },

  me: { method: 'GET', path: '/api/me', schema: { response: { 200: SessionInfoSchema, ...errorResponses } } },
  updateProfile: {
    method: 'PUT',
    path: '/api/me/profile',
    schema: { body: UpdateProfileBodySchema, response: { 200: PublicUserSchema, ...errorResponses } },
  },
  changePassword: {
    method: 'PUT',
    path: '/api/me/password',
    schema: {
      body: ChangePasswordBodySchema,
      response: { 200: SessionInfoSchema, ...errorResponses, 429: ApiErrorSchema },
    },
  },
  preferences: {
    method: 'GET',
    path: '/api/me/preferences',
    schema: { response: { 200: UserPreferencesSchema, ...errorResponses } },
  },
  setPreferences: {
    method: 'PUT',
    path: '/api/me/preferences',
    schema: { body: UserPreferencesSchema, response: { 200: UserPreferencesSchema, ...errorResponses } },
  },
  setAvatar: {
    method: 'PUT',
    path: '/api/me/avatar',
    bytesBody: true,
    schema: { response: { 200: PublicUserSchema, ...errorResponses, 413: ApiErrorSchema, 415: ApiErrorSchema } },
  },
  removeAvatar: {
    method: 'DELETE',
    path: '/api/me/avatar',
    schema: { response: { 200: PublicUserSchema, ...errorResponses } },
  },

  avatar: {
    method: 'GET',
    path: '/api/users/:id/avatar',
    browserLoads: true,
    schema: {
      params: UserParamsSchema,
      querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 200: PictureSchema, ...errorResponses, 404: ApiErrorSchema },
    },
  },
  listUsers: {
    method: 'GET',
    path: '/api/users',
    schema: { response: { 200: Type.Array(PublicUserSchema), ...errorResponses } },
  },
  createUser: {
    method: 'POST',
    path: '/api/users',
    schema: {
      body: CreateUserBodySchema,
      response: { 201: CreatedUserSchema, ...errorResponses, 409: ApiErrorSchema },
    },
  },
  /** 409 when the user is the last manager who can log in. */
  disableUser: {
    method: 'POST',
    path: '/api/users/:id/disable',
    schema: { params: UserParamsSchema, response: userChange },
  },
  enableUser: {
    method: 'POST',
    path: '/api/users/:id/enable',
    schema: { params: UserParamsSchema, response: userChange },
  },
  /** 409 when it would leave the clinic without a manager who can log in. */
  setUserRole: {
    method: 'PUT',
    path: '/api/users/:id/role',
    schema: { params: UserParamsSchema, body: UserRoleBodySchema, response: userChange },
  },
  /** A new setup link or generated password, answered once; the old password stops working, and every session ends. */
  resetUserPassword: {
    method: 'POST',
    path: '/api/users/:id/password',
    schema: {
      params: UserParamsSchema,
      body: ResetPasswordBodySchema,
      response: { 200: IssuedCredentialsSchema, ...errorResponses, 404: ApiErrorSchema },
    },
  },
  /** Takes the user off their workstation (409 during a call, or when they are on none); their panel is told. */
  forceOffWorkstation: {
    method: 'POST',
    path: '/api/users/:id/force-off',
    schema: {
      params: UserParamsSchema,
      response: { 204: NoContentSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },
  /** A setup link's token and the new password: sets it and logs in (400 for a token used, expired or unknown). */
  setupAccount: {
    method: 'POST',
    path: '/api/auth/setup',
    schema: { body: SetupAccountBodySchema, response: { 200: SessionInfoSchema, ...errorResponses } },
  },

  listWorkstations: {
    method: 'GET',
    path: '/api/workstations',
    schema: { response: { 200: Type.Array(WorkstationListItemSchema), ...errorResponses } },
  },
  createWorkstation: {
    method: 'POST',
    path: '/api/workstations',
    schema: {
      body: CreateWorkstationBodySchema,
      response: { 201: CreatedWorkstationSchema, ...errorResponses, 409: ApiErrorSchema },
    },
  },
  renameWorkstation: {
    method: 'PATCH',
    path: '/api/workstations/:id',
    schema: {
      params: WorkstationParamsSchema,
      body: RenameWorkstationBodySchema,
      response: { 200: WorkstationSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },
  removeWorkstation: {
    method: 'DELETE',
    path: '/api/workstations/:id',
    schema: {
      params: WorkstationParamsSchema,
      response: { 204: NoContentSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },
  resetWorkstationSipPassword: {
    method: 'POST',
    path: '/api/workstations/:id/sip-password',
    schema: {
      params: WorkstationParamsSchema,
      response: { 200: CreatedWorkstationSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },

  agentStatus: {
    method: 'GET',
    path: '/api/workstation',
    schema: { response: { 200: AgentStatusSchema, ...errorResponses } },
  },
  selectWorkstation: {
    method: 'PUT',
    path: '/api/workstation',
    schema: {
      body: SelectWorkstationBodySchema,
      response: { 200: AgentStatusSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },
  leaveWorkstation: {
    method: 'DELETE',
    path: '/api/workstation',
    schema: { response: { 204: NoContentSchema, ...errorResponses } },
  },

  sipCredentials: {
    method: 'GET',
    path: '/api/sip/credentials',
    schema: { response: { 200: SipCredentialsSchema, ...errorResponses, 409: ApiErrorSchema, 503: ApiErrorSchema } },
  },

  team: {
    method: 'GET',
    path: '/api/team',
    schema: { response: { 200: Type.Array(TeamMemberSchema), ...errorResponses } },
  },
  queues: {
    method: 'GET',
    path: '/api/queues',
    schema: { response: { 200: QueueListSchema, ...errorResponses } },
  },
  push: { method: 'GET', path: '/api/push', browserLoads: true },

  pauseStatus: {
    method: 'GET',
    path: '/api/pause',
    schema: { response: { 200: AgentStatusSchema, ...errorResponses } },
  },
  pause: { method: 'PUT', path: '/api/pause', schema: { body: PauseBodySchema, response: pauseResponses } },
  extendPause: {
    method: 'POST',
    path: '/api/pause/extend',
    schema: { body: PauseBodySchema, response: pauseResponses },
  },
  resume: { method: 'DELETE', path: '/api/pause', schema: { response: { 200: AgentStatusSchema, ...errorResponses } } },
  missedCalls: {
    method: 'GET',
    path: '/api/pause/missed',
    schema: { response: { 200: MissedCallsSchema, ...errorResponses } },
  },
  dismissMissedCalls: {
    method: 'DELETE',
    path: '/api/pause/missed',
    schema: { response: { 204: NoContentSchema, ...errorResponses } },
  },

  listSubjects: {
    method: 'GET',
    path: '/api/subjects',
    schema: { querystring: ListSubjectsQuerySchema, response: { 200: Type.Array(SubjectSchema), ...errorResponses } },
  },
  createSubject: {
    method: 'POST',
    path: '/api/subjects',
    schema: { body: CreateSubjectBodySchema, response: { 201: SubjectSchema, ...errorResponses, 409: ApiErrorSchema } },
  },
  renameSubject: {
    method: 'PATCH',
    path: '/api/subjects/:id',
    schema: {
      params: SubjectParamsSchema,
      body: UpdateSubjectBodySchema,
      response: { 200: SubjectSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },
  reorderSubjects: {
    method: 'POST',
    path: '/api/subjects/reorder',
    schema: {
      body: ReorderSubjectsBodySchema,
      response: { 200: Type.Array(SubjectSchema), ...errorResponses, 409: ApiErrorSchema },
    },
  },
  retireSubject: { method: 'POST', path: '/api/subjects/:id/retire', schema: subjectChange },
  restoreSubject: { method: 'POST', path: '/api/subjects/:id/restore', schema: subjectChange },

  outboundPolicy: {
    method: 'GET',
    path: '/api/settings/outbound-policy',
    schema: { response: { 200: OutboundPolicyResponseSchema, ...errorResponses } },
  },
  setOutboundPolicy: {
    method: 'PUT',
    path: '/api/settings/outbound-policy',
    schema: { body: OutboundPolicySchema, response: { 200: OutboundPolicyResponseSchema, ...errorResponses } },
  },

  outcomeSettings: {
    method: 'GET',
    path: '/api/settings/outcomes',
    schema: { response: { 200: OutcomeSettingsSchema, ...errorResponses } },
  },
  setOutcomeSettings: {
    method: 'PUT',
    path: '/api/settings/outcomes',
    schema: { body: OutcomeSettingsSchema, response: { 200: OutcomeSettingsSchema, ...errorResponses } },
  },

  callPlan: {
    method: 'GET',
    path: '/api/settings/call-plan',
    schema: { response: { 200: CallPlanResponseSchema, ...errorResponses } },
  },
  /** 400 for a plan the schema refuses, or validateCallPlan's problems, one per line of `message`. */
  setCallPlan: {
    method: 'PUT',
    path: '/api/settings/call-plan',
    schema: { body: CallPlanSchema, response: { 200: CallPlanResponseSchema, ...errorResponses } },
  },
  previewCallPlan: {
    method: 'GET',
    path: '/api/settings/call-plan/preview',
    schema: { querystring: CallPlanPreviewQuerySchema, response: { 200: CallPlanPreviewSchema, ...errorResponses } },
  },
  /** Manager only: how calls are distributed (protocol/src/distribution.ts). */
  distribution: {
    method: 'GET',
    path: '/api/settings/distribution',
    schema: { response: { 200: DistributionSettingsSchema, ...errorResponses } },
  },
  /** 400 for a body the schema refuses, or a fixed order naming someone who is not a user. */
  setDistribution: {
    method: 'PUT',
    path: '/api/settings/distribution',
    schema: { body: DistributionSettingsSchema, response: { 200: DistributionSettingsSchema, ...errorResponses } },
  },
  listPrompts: {
    method: 'GET',
    path: '/api/settings/prompts',
    schema: { response: { 200: PromptListSchema, ...errorResponses } },
  },
  /** Loaded by an <audio> element for the preview. */
  promptAudio: {
    method: 'GET',
    path: '/api/settings/prompts/:lang/:name/audio',
    browserLoads: true,
    schema: {
      params: PromptParamsSchema,
      response: { 200: AudioSchema, 206: AudioSchema, ...errorResponses, 404: ApiErrorSchema, 416: ApiErrorSchema },
    },
  },
  /** The recording's bytes are the body (WAV, MP3 or Ogg); signaling converts it. */
  setPrompt: {
    method: 'PUT',
    path: '/api/settings/prompts/:lang/:name',
    bytesBody: true,
    schema: {
      params: PromptParamsSchema,
      response: { 200: PromptInfoSchema, ...errorResponses, 404: ApiErrorSchema, 413: ApiErrorSchema },
    },
  },
  /** The hold music (HOLD_MUSIC_ID), loaded by an <audio> element for the preview. */
  holdMusicAudio: {
    method: 'GET',
    path: '/api/settings/hold-music/audio',
    browserLoads: true,
    schema: { response: { 200: AudioSchema, 206: AudioSchema, ...errorResponses, 416: ApiErrorSchema } },
  },
  /** A manager's hold music (WAV, MP3 or Ogg bytes as the body, up to HOLD_MUSIC_MAX_SECONDS). */
  setHoldMusic: {
    method: 'PUT',
    path: '/api/settings/hold-music',
    bytesBody: true,
    schema: { response: { 200: HoldMusicInfoSchema, ...errorResponses, 413: ApiErrorSchema } },
  },
  /** Back to the built-in hold music. */
  resetHoldMusic: {
    method: 'DELETE',
    path: '/api/settings/hold-music',
    schema: { response: { 200: HoldMusicInfoSchema, ...errorResponses } },
  },
  /** Back to the built-in prompt. */
  resetPrompt: {
    method: 'DELETE',
    path: '/api/settings/prompts/:lang/:name',
    schema: { params: PromptParamsSchema, response: { 200: PromptInfoSchema, ...errorResponses, 404: ApiErrorSchema } },
  },

  statistics: {
    method: 'GET',
    path: '/api/statistics',
    schema: { querystring: StatisticsQuerySchema, response: { 200: DayStatisticsSchema, ...errorResponses } },
  },

  listTasks: {
    method: 'GET',
    path: '/api/tasks',
    schema: { querystring: ListTasksQuerySchema, response: { 200: TaskListSchema, ...errorResponses } },
  },
  task: {
    method: 'GET',
    path: '/api/tasks/:id',
    schema: { params: TaskParamsSchema, response: { 200: TaskSchema, ...errorResponses, 404: ApiErrorSchema } },
  },
  updateTask: {
    method: 'PATCH',
    path: '/api/tasks/:id',
    schema: { params: TaskParamsSchema, body: UpdateTaskBodySchema, response: taskResponses },
  },
  reportProblem: {
    method: 'POST',
    path: '/api/tasks/:id/problems',
    schema: {
      params: TaskParamsSchema,
      body: ReportProblemBodySchema,
      response: { ...taskResponses, 201: TaskSchema },
    },
  },
  closeTask: {
    method: 'POST',
    path: '/api/tasks/:id/close',
    schema: { params: TaskParamsSchema, response: taskResponses },
  },
  startCallback: {
    method: 'POST',
    path: '/api/tasks/:id/callback',
    schema: {
      params: TaskParamsSchema,
      response: { 201: CallbackStartSchema, ...errorResponses, 404: ApiErrorSchema, 409: ApiErrorSchema },
    },
  },

  voicemailAudio: {
    method: 'GET',
    path: '/api/voicemail/:id/audio',
    // An <audio> element loads it, with Range requests for seeking.
    browserLoads: true,
    schema: {
      params: VoicemailParamsSchema,
      response: { 200: AudioSchema, 206: AudioSchema, ...errorResponses, 404: ApiErrorSchema, 416: ApiErrorSchema },
    },
  },
  voicemailAudit: {
    method: 'GET',
    path: '/api/voicemail/audit',
    schema: { response: { 200: VoicemailAuditSchema, ...errorResponses } },
  },

  // Contacts (issue 16, item 5): everyone views, adds and edits; managers delete, import and export.
  listContacts: {
    method: 'GET',
    path: '/api/contacts',
    schema: { response: { 200: Type.Array(ContactSchema), ...errorResponses } },
  },
  createContact: {
    method: 'POST',
    path: '/api/contacts',
    schema: { body: CreateContactBodySchema, response: { 201: ContactSchema, ...errorResponses, 409: ApiErrorSchema } },
  },
  updateContact: {
    method: 'PATCH',
    path: '/api/contacts/:number',
    schema: {
      params: ContactParamsSchema,
      body: UpdateContactBodySchema,
      response: { 200: ContactSchema, ...errorResponses, 404: ApiErrorSchema },
    },
  },
  deleteContact: {
    method: 'DELETE',
    path: '/api/contacts/:number',
    schema: { params: ContactParamsSchema, response: { 204: NoContentSchema, ...errorResponses, 404: ApiErrorSchema } },
  },
  /** The names of the numbers a call board shows (in the spellings the calls carry). */
  lookupContacts: {
    method: 'POST',
    path: '/api/contacts/lookup',
    schema: { body: ContactLookupBodySchema, response: { 200: ContactLookupSchema, ...errorResponses } },
  },
  /** What importing the CSV file (the body's bytes) would do; stores nothing. */
  previewContactImport: {
    method: 'POST',
    path: '/api/contacts/import/preview',
    bytesBody: true,
    schema: { response: { 200: ContactImportResultSchema, ...errorResponses, 413: ApiErrorSchema } },
  },
  /** Imports the CSV file (the body's bytes), all or nothing: 422 with the refused lines stores nothing. */
  importContacts: {
    method: 'POST',
    path: '/api/contacts/import',
    bytesBody: true,
    schema: {
      response: {
        200: ContactImportResultSchema,
        ...errorResponses,
        413: ApiErrorSchema,
        422: ContactImportRefusedSchema,
      },
    },
  },
  /** Every contact as a CSV file (text/csv), downloaded by a link. */
  exportContacts: {
    method: 'GET',
    path: '/api/contacts/export',
    browserLoads: true,
    schema: { response: { 200: CsvSchema, ...errorResponses } },
  },
} as const satisfies Record<string, ApiRoute>;

export type ApiRoutes = typeof API_ROUTES;

type SuccessStatus = 200 | 201 | 204;
type SchemasOf<R> = R extends { schema: infer S } ? S : never;

type SuccessSchema<R> =
  SchemasOf<R> extends { response: infer Responses } ? Responses[Extract<keyof Responses, SuccessStatus>] : never;

/** What a successful call of the route answers; a 204's empty body is `void`. */
export type RouteResponse<R extends ApiRoute> =
  SuccessSchema<R> extends infer S extends TSchema ? (S extends TNull ? void : Static<S>) : never;

/** What a call of the route sends as JSON: its path parameters, its query and its body, each only where the route has one. */
export type RouteInput<R extends ApiRoute> = (SchemasOf<R> extends { params: infer P extends TSchema }
  ? { params: Static<P> }
  : unknown) &
  (SchemasOf<R> extends { querystring: infer Q extends TSchema } ? { query: Static<Q> } : unknown) &
  (SchemasOf<R> extends { body: infer B extends TSchema } ? { body: Static<B> } : unknown);
