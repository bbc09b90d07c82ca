import {
  PUSH_SERVER_RESTARTING_CLOSE_CODE,
  PUSH_SESSION_ENDED_CLOSE_CODE,
  type CallView,
  type PushEvent,
  type Subject,
  type TaskView,
  type TeamMember,
} from '@deskline/protocol';
import { log } from './log.js';

const debug = log('dl:push');

/** The server closes a session's sockets with this code when the session ends (logout, disabled, expiry). */
export const SESSION_ENDED_CLOSE_CODE = PUSH_SESSION_ENDED_CLOSE_CODE;
/** The server refuses a socket opened from another site. Reconnecting would not help. */
const POLICY_CLOSE_CODE = 1008;

/** How long an ended or abandoned call stays in `calls`, so a view can show how it ended. */
export const ENDED_CALL_LINGER_MS = 5_000;
/** How many closed tasks pushed since the page opened are kept for the Closed tab (newest first). */
export const PUSHED_CLOSED_TASKS = 200;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/**
 * After a server restart's close, the panel reconnects within this (a random part of it), so that a
 * clinic's panels do not all reach the other instance in the same millisecond.
 */
export const RESTART_RECONNECT_SPREAD_MS = 250;

export type PushStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

function isFinished(call: CallView): boolean {
  return call.state === 'ended' || call.state === 'abandoned';
}

function pushUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/push`;
}

/**
 * The live call list, team and call board from the server: a WebSocket at /api/push (same origin, the
 * session cookie authenticates it) that starts with a `hello` listing the calls in progress, the team
 * and the open tasks, and then sends every change of a call, a team member, a task and a subject. It
 * reconnects at once (within RESTART_RECONNECT_SPREAD_MS) when the server closes it for a restart, and
 * after anything else with exponential backoff (1 s doubling up to 30 s, with jitter). Each `hello`
 * replaces calls, team and open tasks with the server's whole state, so nothing that changed while
 * disconnected is missed, and nothing that ended lingers. Ended and abandoned calls
 * are dropped ENDED_CALL_LINGER_MS after they end. A task that closes leaves `tasks` for
 * `closedTasks`, which the Closed tab merges with what it loads from the server.
 *
 * @fires change - `Event`: `calls`, `team`, `tasks`, `closedTasks`, `subjects` or `status` changed.
 * @fires hello - `Event`: a `hello` arrived (the first one, or after a reconnect): anything not
 *   pushed (the subject list) should be read again.
 * @fires session-ended - `Event`: the server closed the socket because this session logged out
 *   (another tab of this browser, say). The client has stopped.
 */
export class PushClient extends EventTarget {
  #calls = new Map<string, CallView>();
  #team = new Map<string, TeamMember>();
  #tasks = new Map<string, TaskView>();
  #closedTasks = new Map<string, TaskView>();
  #subjects = new Map<string, Subject>();
  #status: PushStatus = 'stopped';
  #socket: WebSocket | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;
  #dropTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly url: () => string = pushUrl) {
    super();
  }

  /** Calls by id: every call in progress, plus the recently ended ones. */
  get calls(): ReadonlyMap<string, CallView> {
    return this.#calls;
  }

  /** The team by user id: every enabled user, each replaced by a new object when it changes. */
  get team(): ReadonlyMap<string, TeamMember> {
    return this.#team;
  }

  /** Tasks by id: every task not closed that this user may see in its tab. */
  get tasks(): ReadonlyMap<string, TaskView> {
    return this.#tasks;
  }

  /** Tasks pushed as closed since the page opened (at most PUSHED_CLOSED_TASKS), by id. */
  get closedTasks(): ReadonlyMap<string, TaskView> {
    return this.#closedTasks;
  }

  /** Subjects pushed since the last `hello`, by id: newer than any list read before it. */
  get subjects(): ReadonlyMap<string, Subject> {
    return this.#subjects;
  }

  get status(): PushStatus {
    return this.#status;
  }

  start(): void {
    if (this.#status !== 'stopped') return;
    this.#connect('connecting');
  }

  stop(): void {
    this.#status = 'stopped';
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'logged out');
    for (const timer of this.#dropTimers.values()) clearTimeout(timer);
    this.#dropTimers.clear();
    this.#calls = new Map();
    this.#team = new Map();
    this.#tasks = new Map();
    this.#closedTasks = new Map();
    this.#subjects = new Map();
    this.#changed();
  }

  #connect(status: PushStatus): void {
    this.#status = status;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url());
    } catch (error) {
      debug('cannot open', error);
      this.#retryLater();
      return;
    }
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      if (socket === this.#socket) this.#onMessage(event);
    });
    socket.addEventListener('close', (event) => {
      if (socket === this.#socket) this.#onClose(event);
    });
    this.#changed();
  }

  #onMessage(event: MessageEvent): void {
    let message: PushEvent;
    try {
      message = JSON.parse(String(event.data)) as PushEvent;
    } catch {
      debug('unreadable message ignored');
      return;
    }
    switch (message.type) {
      case 'hello':
        debug('hello with', message.calls.length, 'calls');
        this.#retries = 0;
        this.#status = 'connected';
        for (const timer of this.#dropTimers.values()) clearTimeout(timer);
        this.#dropTimers.clear();
        this.#calls = new Map();
        for (const call of message.calls) this.#put(call);
        this.#team = new Map(message.team.map((member) => [member.userId, member]));
        this.#tasks = new Map();
        // A signaling from before the call board sends no tasks.
        for (const task of message.tasks ?? []) this.#putTask(task);
        this.#subjects = new Map();
        this.dispatchEvent(new Event('hello'));
        break;
      case 'task':
        debug('task', message.task.id, message.task.status);
        this.#putTask(message.task);
        break;
      case 'task-gone':
        debug('task gone', message.taskId);
        this.#tasks.delete(message.taskId);
        break;
      case 'subject':
        debug('subject', message.subject.id);
        this.#subjects.set(message.subject.id, message.subject);
        break;
      case 'call':
        debug('call', message.call.id, message.call.state);
        this.#put(message.call);
        break;
      case 'member':
        debug('member', message.member.userId, message.member.state, message.member.online);
        this.#team.set(message.member.userId, message.member);
        break;
      case 'member-gone':
        debug('member gone', message.userId);
        this.#team.delete(message.userId);
        break;
      default:
        return;
    }
    this.#changed();
  }

  #put(call: CallView): void {
    clearTimeout(this.#dropTimers.get(call.id));
    this.#dropTimers.delete(call.id);
    this.#calls.set(call.id, call);
    if (!isFinished(call)) return;
    this.#dropTimers.set(
      call.id,
      setTimeout(() => {
        this.#dropTimers.delete(call.id);
        if (this.#calls.get(call.id) === call) {
          this.#calls.delete(call.id);
          this.#changed();
        }
      }, ENDED_CALL_LINGER_MS),
    );
  }

  /**
   * A task as an answer of the API returned it (a saved subject, a close): shown at once, before its
   * push arrives.
   */
  putTask(task: TaskView): void {
    this.#putTask(task);
    this.#changed();
  }

  /** Pushes can overtake each other across reconnects: an older version of a task never replaces a newer one. */
  #putTask(task: TaskView): void {
    const known = this.#tasks.get(task.id) ?? this.#closedTasks.get(task.id);
    if (known !== undefined && known.updatedAt > task.updatedAt) return;
    if (task.status !== 'closed') {
      this.#tasks.set(task.id, task);
      return;
    }
    this.#tasks.delete(task.id);
    this.#closedTasks.delete(task.id);
    this.#closedTasks.set(task.id, task);
    if (this.#closedTasks.size > PUSHED_CLOSED_TASKS) {
      const oldest = this.#closedTasks.keys().next().value;
      if (oldest !== undefined) this.#closedTasks.delete(oldest);
    }
  }

  #onClose(event: CloseEvent): void {
    this.#socket = undefined;
    debug('closed', event.code, event.reason);
    if (event.code === SESSION_ENDED_CLOSE_CODE) {
      this.stop();
      this.dispatchEvent(new Event('session-ended'));
      return;
    }
    if (event.code === POLICY_CLOSE_CODE) {
      this.stop();
      return;
    }
    if (event.code === PUSH_SERVER_RESTARTING_CLOSE_CODE) {
      // Not a fault: another instance (or this one, restarted) takes the panel now. Should that fail
      // too, the backoff starts from its first step.
      this.#retries = 0;
      this.#retryLater(Math.random() * RESTART_RECONNECT_SPREAD_MS);
      return;
    }
    this.#retryLater();
  }

  #retryLater(delay = this.#backoff()): void {
    this.#status = 'reconnecting';
    this.#changed();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect('reconnecting');
    }, delay);
  }

  #backoff(): number {
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#retries);
    this.#retries += 1;
    // Jitter, so that a clinic's panels do not all come back in the same millisecond.
    return base / 2 + Math.random() * (base / 2);
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
