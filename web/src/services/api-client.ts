import {
  API_ROUTES,
  CSRF_HEADER,
  type ApiError,
  type ApiRoute,
  type ApiRoutes,
  type RouteInput,
  type RouteResponse,
} from '@deskline/protocol';
import { log } from './log.js';

const debug = log('dl:api');

/** Shown when the request never reached the server (offline, DNS, server down, proxy refused). */
export const UNREACHABLE_MESSAGE = 'Deskline is not reachable. Check your connection.';

/**
 * Event type dispatched on the client when an authenticated request is answered with 401, meaning the
 * session expired or was ended elsewhere. The app listens for it and returns to the login page.
 */
export const SESSION_ENDED_EVENT = 'session-ended';

/** A request that failed. `status` is the HTTP status, or 0 when the server could not be reached. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';

  constructor(
    readonly status: number,
    /** Text for the person at the screen: the server's `message`, or a fallback. */
    message: string,
    /** The server's `error`: the status text, or a reason to act on (`subject-required`). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
  /**
   * Whether a 401 answer means "the session has ended" and should be announced with
   * SESSION_ENDED_EVENT. Defaults to true. Turn it off for calls where 401 is an expected answer:
   * the login itself, the start-up session check, and logout.
   */
  reportSessionEnd?: boolean;
}

/** What a call of the route sends: RouteInput, with a Blob as the body of a route that takes a file's bytes. */
export type CallInput<R extends ApiRoute> = RouteInput<R> & (R extends { bytesBody: true } ? { body: Blob } : unknown);

/** A route's method: its input (where it has any) and the request options; it resolves to the route's answer. */
export type RouteCall<R extends ApiRoute> = (
  ...args: keyof CallInput<R> extends never
    ? [options?: RequestOptions]
    : [input: CallInput<R>, options?: RequestOptions]
) => Promise<RouteResponse<R>>;

/** One method per route of API_ROUTES, except those the browser loads itself (a picture, the push socket). */
export type RouteMethods = {
  [Name in keyof ApiRoutes as ApiRoutes[Name] extends { browserLoads: true } ? never : Name]: RouteCall<
    ApiRoutes[Name]
  >;
};

interface AnyInput {
  params?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

/** The route's path with its `:name` parameters filled in, and the query's defined values after it. */
function urlOf(route: ApiRoute, input: AnyInput): string {
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(input.params?.[name] ?? ''));
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(input.query ?? {}))
    if (value !== undefined) query.set(name, String(value));
  const search = query.toString();
  return search === '' ? path : `${path}?${search}`;
}

function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && typeof (value as ApiError).message === 'string';
}

async function toRequestError(response: Response): Promise<ApiRequestError> {
  try {
    const body: unknown = await response.json();
    if (isApiError(body) && body.message !== '') return new ApiRequestError(response.status, body.message, body.error);
  } catch {
    // Not JSON: typically an error page from a proxy in front of Deskline.
  }
  return new ApiRequestError(
    response.status,
    `Deskline answered with an error (${response.status}). Please try again.`,
  );
}

/**
 * Same-origin JSON client for the Deskline REST API. It holds the session's CSRF token and sends it
 * with every state-changing request; the session itself is an HttpOnly cookie the browser sends.
 * Every failure is thrown as ApiRequestError, except an abort through `options.signal`.
 */
export class ApiClient extends EventTarget implements RouteMethods {
  /** CSRF token of the current session, from SessionInfo. Set it after login, clear it after logout. */
  csrfToken: string | undefined;

  readonly health = this.#route(API_ROUTES.health);
  readonly login = this.#route(API_ROUTES.login);
  readonly logout = this.#route(API_ROUTES.logout);
  readonly me = this.#route(API_ROUTES.me);
  readonly updateProfile = this.#route(API_ROUTES.updateProfile);
  readonly changePassword = this.#route(API_ROUTES.changePassword);
  readonly preferences = this.#route(API_ROUTES.preferences);
  readonly setPreferences = this.#route(API_ROUTES.setPreferences);
  /** The picture's bytes are the body, with the Blob's type. */
  readonly setAvatar = this.#route(API_ROUTES.setAvatar);
  readonly removeAvatar = this.#route(API_ROUTES.removeAvatar);
  /** Managers: who played which voicemail message, when. */
  readonly voicemailAudit = this.#route(API_ROUTES.voicemailAudit);
  readonly listUsers = this.#route(API_ROUTES.listUsers);
  readonly createUser = this.#route(API_ROUTES.createUser);
  readonly disableUser = this.#route(API_ROUTES.disableUser);
  readonly enableUser = this.#route(API_ROUTES.enableUser);
  readonly setUserRole = this.#route(API_ROUTES.setUserRole);
  /** A setup link or a generated password, answered once; ends the user's sessions. */
  readonly resetUserPassword = this.#route(API_ROUTES.resetUserPassword);
  readonly forceOffWorkstation = this.#route(API_ROUTES.forceOffWorkstation);
  /** The setup link's page: sets the password and logs in (no session yet, like login). */
  readonly setupAccount = this.#route(API_ROUTES.setupAccount);
  readonly listWorkstations = this.#route(API_ROUTES.listWorkstations);
  readonly createWorkstation = this.#route(API_ROUTES.createWorkstation);
  readonly renameWorkstation = this.#route(API_ROUTES.renameWorkstation);
  readonly removeWorkstation = this.#route(API_ROUTES.removeWorkstation);
  /** A desk phone's new SIP password, in this answer only. */
  readonly resetWorkstationSipPassword = this.#route(API_ROUTES.resetWorkstationSipPassword);
  readonly agentStatus = this.#route(API_ROUTES.agentStatus);
  readonly selectWorkstation = this.#route(API_ROUTES.selectWorkstation);
  readonly leaveWorkstation = this.#route(API_ROUTES.leaveWorkstation);
  readonly sipCredentials = this.#route(API_ROUTES.sipCredentials);
  readonly team = this.#route(API_ROUTES.team);
  /** The call plan's queues by id and name, for the board's queue filter. */
  readonly queues = this.#route(API_ROUTES.queues);
  readonly pauseStatus = this.#route(API_ROUTES.pauseStatus);
  readonly pause = this.#route(API_ROUTES.pause);
  readonly extendPause = this.#route(API_ROUTES.extendPause);
  readonly resume = this.#route(API_ROUTES.resume);
  readonly missedCalls = this.#route(API_ROUTES.missedCalls);
  readonly dismissMissedCalls = this.#route(API_ROUTES.dismissMissedCalls);
  /** The active subjects; with `all` (managers only), the retired ones after them. */
  readonly listSubjects = this.#route(API_ROUTES.listSubjects);
  readonly createSubject = this.#route(API_ROUTES.createSubject);
  readonly renameSubject = this.#route(API_ROUTES.renameSubject);
  readonly reorderSubjects = this.#route(API_ROUTES.reorderSubjects);
  readonly retireSubject = this.#route(API_ROUTES.retireSubject);
  readonly restoreSubject = this.#route(API_ROUTES.restoreSubject);
  readonly outboundPolicy = this.#route(API_ROUTES.outboundPolicy);
  readonly setOutboundPolicy = this.#route(API_ROUTES.setOutboundPolicy);
  readonly outcomeSettings = this.#route(API_ROUTES.outcomeSettings);
  readonly setOutcomeSettings = this.#route(API_ROUTES.setOutcomeSettings);
  /** The call plan and CLINIC_TIME_ZONE (managers). */
  readonly callPlan = this.#route(API_ROUTES.callPlan);
  /** 400: the problems, one per line of the error's message; the stored plan is unchanged. */
  readonly setCallPlan = this.#route(API_ROUTES.setCallPlan);
  readonly distribution = this.#route(API_ROUTES.distribution);
  readonly setDistribution = this.#route(API_ROUTES.setDistribution);
  /** What a caller would hear at `at` (ISO date-time), by the stored plan. */
  readonly previewCallPlan = this.#route(API_ROUTES.previewCallPlan);
  /** Every prompt in every language: built-in or uploaded (managers). Previews load promptAudioUrl(). */
  readonly listPrompts = this.#route(API_ROUTES.listPrompts);
  /** A recording (WAV, MP3 or Ogg: the Blob's bytes) in place of a prompt; signaling converts it. */
  readonly setPrompt = this.#route(API_ROUTES.setPrompt);
  /** Back to the built-in prompt. */
  readonly resetPrompt = this.#route(API_ROUTES.resetPrompt);
  /** A manager's hold music (the Blob's bytes) in place of the built-in loop; previews load HOLD_MUSIC_AUDIO_URL. */
  readonly setHoldMusic = this.#route(API_ROUTES.setHoldMusic);
  readonly resetHoldMusic = this.#route(API_ROUTES.resetHoldMusic);
  /** A day's statistics (managers): `date` is YYYY-MM-DD in the clinic's zone; without it, today there. */
  readonly statistics = this.#route(API_ROUTES.statistics);
  /** A tab's tasks as the server files them (taskVisibleTo applied), newest change first. */
  readonly listTasks = this.#route(API_ROUTES.listTasks);
  readonly task = this.#route(API_ROUTES.task);
  /** Saves a task's subject or comment at once, so that a reload keeps them. */
  readonly updateTask = this.#route(API_ROUTES.updateTask);
  readonly reportProblem = this.#route(API_ROUTES.reportProblem);
  /** 409 `subject-required` without a subject, and while a call or a callback is in progress. */
  readonly closeTask = this.#route(API_ROUTES.closeTask);
  /** Asks for a one-time callback target; the browser's phone then calls `target`. */
  readonly startCallback = this.#route(API_ROUTES.startCallback);
  /** The clinic's contacts (names for patients' numbers), by name. */
  readonly listContacts = this.#route(API_ROUTES.listContacts);
  /** 409 when the number is a contact already. */
  readonly createContact = this.#route(API_ROUTES.createContact);
  readonly updateContact = this.#route(API_ROUTES.updateContact);
  /** Managers. */
  readonly deleteContact = this.#route(API_ROUTES.deleteContact);
  /** The contacts of numbers as calls carry them, each with the spelling asked. */
  readonly lookupContacts = this.#route(API_ROUTES.lookupContacts);
  /** Managers: what importing the CSV file (the Blob) would do; stores nothing. */
  readonly previewContactImport = this.#route(API_ROUTES.previewContactImport);
  /** Managers: imports the CSV file (the Blob), all or nothing. */
  readonly importContacts = this.#route(API_ROUTES.importContacts);

  /** The method of one route: its arguments and answer are typed by the route's schemas. */
  #route<R extends ApiRoute>(route: R): RouteCall<R> {
    return (async (...args: [AnyInput | RequestOptions | undefined, RequestOptions?]) => {
      const takesInput = route.schema?.params ?? route.schema?.querystring ?? route.schema?.body ?? route.bytesBody;
      const [input, options] = takesInput
        ? [args[0] as AnyInput, args[1]]
        : [{}, args[0] as RequestOptions | undefined];
      return this.#request(route.method, urlOf(route, input), input.body, options);
    }) as RouteCall<R>;
  }

  async #request(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    const headers = new Headers({ accept: 'application/json' });
    // A Blob (a picture to upload) is sent as its bytes; anything else as JSON. Fastify rejects an
    // empty body declared as JSON, so the type is only sent with a body.
    const raw = body instanceof Blob;
    if (raw) headers.set('content-type', body.type || 'application/octet-stream');
    else if (body !== undefined) headers.set('content-type', 'application/json');
    if (method !== 'GET' && method !== 'HEAD' && this.csrfToken !== undefined) {
      headers.set(CSRF_HEADER, this.csrfToken);
    }

    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: raw ? body : body === undefined ? null : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: options.signal ?? null,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      debug(method, path, 'failed to reach the server', error);
      throw new ApiRequestError(0, UNREACHABLE_MESSAGE);
    }
    debug(method, path, response.status);

    if (!response.ok) {
      const error = await toRequestError(response);
      if (response.status === 401 && (options.reportSessionEnd ?? true)) {
        this.dispatchEvent(new Event(SESSION_ENDED_EVENT));
      }
      throw error;
    }

    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiRequestError(0, UNREACHABLE_MESSAGE);
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiRequestError(response.status, 'Deskline sent an answer this page cannot read. Please reload.');
    }
  }
}

/** The client the app uses unless an element is given another one (tests do that). */
export const apiClient = new ApiClient();
