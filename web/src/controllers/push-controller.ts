import type { CallView, Subject, TaskView, TeamMember } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { QueueSummary } from '../queue-filter.js';
import type { ApiClient } from '../services/api-client.js';
import { log } from '../services/log.js';
import { PushClient, type PushStatus } from '../services/push-client.js';

const debug = log('dl:push');

/**
 * The live call list, team, call board and subjects for as long as the host is connected: opens the
 * push socket on connect, closes it on disconnect (logout), and re-renders the host on every change.
 * The subjects, retired ones included (old tasks still name them), are read from GET /api/subjects
 * after every `hello` and kept current by the pushed `subject` events. The call plan's queues (for the
 * board's queue filter) are read from GET /api/queues after every `hello`, and again when a call
 * names a queue not known yet (a manager added one).
 */
export class PushController implements ReactiveController {
  #client: PushClient | undefined;
  /** The subject list as last read from the server. */
  #loadedSubjects = new Map<string, Subject>();
  #subjectsRequest: AbortController | undefined;
  #queues: readonly QueueSummary[] = [];
  #queuesRequest: AbortController | undefined;
  /** Queue ids named by calls that the last read of the queues did not have: each is asked about once. */
  #unknownQueues = new Set<string>();

  constructor(
    private readonly host: ReactiveControllerHost,
    /** Used to confirm that the session has ended when the server closes the socket for that reason. */
    private readonly api: () => ApiClient,
  ) {
    host.addController(this);
  }

  /** Every call the server knows of, including ones that ended a moment ago. */
  get calls(): readonly CallView[] {
    return [...(this.#client?.calls.values() ?? [])];
  }

  /** The team by name, as the server last told it (empty until the first hello). */
  get team(): readonly TeamMember[] {
    return [...(this.#client?.team.values() ?? [])].sort(
      (a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId),
    );
  }

  /** One member as the server last told it; a new object after every change. */
  member(userId: string): TeamMember | undefined {
    return this.#client?.team.get(userId);
  }

  /** The tasks not closed that this user may see, as the server last told them. */
  get tasks(): readonly TaskView[] {
    return [...(this.#client?.tasks.values() ?? [])];
  }

  /** Tasks that closed since the page opened (the Closed tab adds them to what it loads). */
  get closedTasks(): readonly TaskView[] {
    return [...(this.#client?.closedTasks.values() ?? [])];
  }

  /** A task as an answer of the API returned it: shown at once, before its push arrives. */
  putTask(task: TaskView): void {
    this.#client?.putTask(task);
  }

  /** Subjects by id: the list read after the last hello, with every pushed change since. */
  get subjects(): ReadonlyMap<string, Subject> {
    const pushed = this.#client?.subjects;
    if (pushed === undefined || pushed.size === 0) return this.#loadedSubjects;
    return new Map([...this.#loadedSubjects, ...pushed]);
  }

  /** A subject this user changed (the admin view): shown at once, before its push arrives. */
  putSubject(subject: Subject): void {
    this.#loadedSubjects = new Map(this.#loadedSubjects).set(subject.id, subject);
    this.host.requestUpdate();
  }

  /** The call plan's queues, in the plan's order (empty until read). */
  get queues(): readonly QueueSummary[] {
    return this.#queues;
  }

  get status(): PushStatus {
    return this.#client?.status ?? 'stopped';
  }

  hostConnected(): void {
    const client = new PushClient();
    client.addEventListener('change', this.#onChange);
    client.addEventListener('hello', this.#onHello);
    client.addEventListener('session-ended', this.#onSessionEnded);
    this.#client = client;
    client.start();
  }

  hostDisconnected(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#subjectsRequest?.abort();
    this.#queuesRequest?.abort();
    this.#loadedSubjects = new Map();
    this.#queues = [];
    this.#unknownQueues.clear();
    if (client === undefined) return;
    client.removeEventListener('change', this.#onChange);
    client.removeEventListener('hello', this.#onHello);
    client.removeEventListener('session-ended', this.#onSessionEnded);
    client.stop();
  }

  #onChange = (): void => {
    this.host.requestUpdate();
    if (this.#queuesRequest !== undefined) return;
    const unknown = this.calls
      .map((call) => call.queueId)
      .filter((id): id is string => id !== undefined && !this.#unknownQueues.has(id))
      .filter((id) => !this.#queues.some((queue) => queue.id === id));
    if (unknown.length === 0) return;
    for (const id of unknown) this.#unknownQueues.add(id);
    void this.#loadQueues();
  };

  // The list is read after the hello, so that a change pushed from then on is applied over it. One
  // that happened while the socket was down is in the list.
  #onHello = (): void => {
    void this.#loadSubjects();
    void this.#loadQueues();
  };

  async #loadQueues(): Promise<void> {
    this.#queuesRequest?.abort();
    const request = new AbortController();
    this.#queuesRequest = request;
    try {
      this.#queues = (await this.api().queues({ signal: request.signal })).queues;
      this.host.requestUpdate();
    } catch (error) {
      // The board shows every queue's calls meanwhile; the next hello reads them again.
      if (!request.signal.aborted) debug('queues not loaded', error);
    } finally {
      if (this.#queuesRequest === request) this.#queuesRequest = undefined;
    }
  }

  async #loadSubjects(): Promise<void> {
    this.#subjectsRequest?.abort();
    const request = new AbortController();
    this.#subjectsRequest = request;
    try {
      const subjects = await this.api().listSubjects({ query: { all: true } }, { signal: request.signal });
      this.#loadedSubjects = new Map(subjects.map((subject) => [subject.id, subject]));
      this.host.requestUpdate();
    } catch (error) {
      // The board still works with the subjects it knows; the next hello reads them again.
      if (!request.signal.aborted) debug('subjects not loaded', error);
    }
  }

  // Another tab of this browser logged the session out. Asking the server lets the API client
  // announce the ended session (a 401), which takes the app back to the login page.
  #onSessionEnded = (): void => {
    this.api()
      .me()
      .catch(() => undefined);
  };
}
