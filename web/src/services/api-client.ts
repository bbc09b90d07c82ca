import {
  CSRF_HEADER,
  type ApiError,
  type DayStatistics,
  type CallbackStartResponse,
  type ReportProblemRequest,
  type Subject,
  type TaskListResponse,
  type TaskTab,
  type TaskView,
  type UpdateTaskRequest,
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
export class ApiClient extends EventTarget {
  /** CSRF token of the current session, from SessionInfo. Set it after login, clear it after logout. */
  csrfToken: string | undefined;

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, options);
  }

  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, options);
  }

  /** PUT with a JSON body, or with a Blob's bytes (and its type) as the body. */
  put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, body, options);
  }

  patch<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, body, options);
  }

  delete<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, undefined, options);
  }

  /** A day's statistics (managers): `date` is YYYY-MM-DD in the clinic's zone; without it, today there. */
  statistics(date?: string, options?: RequestOptions): Promise<DayStatistics> {
    return this.get<DayStatistics>(date === undefined ? '/api/statistics' : `/api/statistics?date=${encodeURIComponent(date)}`, options);
  }

  /** A tab's tasks as the server files them (taskVisibleTo applied), newest change first. */
  async listTasks(tab: TaskTab, options: RequestOptions & { limit?: number } = {}): Promise<TaskView[]> {
    const query = new URLSearchParams({ tab });
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return (await this.get<TaskListResponse>(`/api/tasks?${query}`, options)).tasks;
  }

  /** Saves a task's subject or comment at once, so that a reload keeps them. */
  updateTask(taskId: string, change: UpdateTaskRequest): Promise<TaskView> {
    return this.patch<TaskView>(`/api/tasks/${encodeURIComponent(taskId)}`, change);
  }

  reportProblem(taskId: string, report: ReportProblemRequest): Promise<TaskView> {
    return this.post<TaskView>(`/api/tasks/${encodeURIComponent(taskId)}/problems`, report);
  }

  /** 409 `subject-required` without a subject, and while a call or a callback is in progress. */
  closeTask(taskId: string): Promise<TaskView> {
    return this.post<TaskView>(`/api/tasks/${encodeURIComponent(taskId)}/close`, {});
  }

  /** Asks for a one-time callback target; the browser's phone then calls `target`. */
  startCallback(taskId: string): Promise<CallbackStartResponse> {
    return this.post<CallbackStartResponse>(`/api/tasks/${encodeURIComponent(taskId)}/callback`, {});
  }

  /** The active subjects; with `all` (managers only), the retired ones after them. */
  listSubjects(options: RequestOptions & { all?: boolean } = {}): Promise<Subject[]> {
    return this.get<Subject[]>(options.all ? '/api/subjects?all=true' : '/api/subjects', options);
  }

  createSubject(name: string): Promise<Subject> {
    return this.post<Subject>('/api/subjects', { name });
  }

  renameSubject(subjectId: string, name: string): Promise<Subject> {
    return this.patch<Subject>(`/api/subjects/${encodeURIComponent(subjectId)}`, { name });
  }

  retireSubject(subjectId: string): Promise<Subject> {
    return this.post<Subject>(`/api/subjects/${encodeURIComponent(subjectId)}/retire`);
  }

  restoreSubject(subjectId: string): Promise<Subject> {
    return this.post<Subject>(`/api/subjects/${encodeURIComponent(subjectId)}/restore`);
  }

  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
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
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiRequestError(response.status, 'Deskline sent an answer this page cannot read. Please reload.');
    }
  }
}

/** The client the app uses unless an element is given another one (tests do that). */
export const apiClient = new ApiClient();
