import type { CallView, TeamMember } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ApiClient } from '../services/api-client.js';
import { PushClient, type PushStatus } from '../services/push-client.js';

/**
 * The live call list and team for as long as the host is connected: opens the push socket on
 * connect, closes it on disconnect (logout), and re-renders the host on every change.
 */
export class PushController implements ReactiveController {
  #client: PushClient | undefined;

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

  get status(): PushStatus {
    return this.#client?.status ?? 'stopped';
  }

  hostConnected(): void {
    const client = new PushClient();
    client.addEventListener('change', this.#onChange);
    client.addEventListener('session-ended', this.#onSessionEnded);
    this.#client = client;
    client.start();
  }

  hostDisconnected(): void {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    client.removeEventListener('change', this.#onChange);
    client.removeEventListener('session-ended', this.#onSessionEnded);
    client.stop();
  }

  #onChange = (): void => {
    this.host.requestUpdate();
  };

  // Another tab of this browser logged the session out. Asking the server lets the API client
  // announce the ended session (a 401), which takes the app back to the login page.
  #onSessionEnded = (): void => {
    this.api().get('/api/me').catch(() => undefined);
  };
}
