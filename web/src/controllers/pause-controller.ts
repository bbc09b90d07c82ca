import {
  PAUSE_EXTEND_MINUTES,
  PAUSE_MAX_MINUTES,
  type AgentStatus,
  type MissedCalls,
  type PauseReason,
  type TeamMember,
} from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';

const debug = log('dl:pause');

/** When a countdown reached zero and the server has not said the pause is over, ask it after this long. */
const OVERDUE_CHECK_MS = 3_000;
const MINUTE_MS = 60_000;

/**
 * The user's pause of incoming calls, as the server keeps it: whether calls are paused and until when,
 * and the countdown to that moment, which re-renders the host every second while paused. The server
 * ends the pause by itself; this only follows it: from the answers to its own requests, from the
 * user's own team member on the push socket (another tab, the pause running out), and from
 * GET /api/pause when the host connects, so a reload shows the same countdown. When a pause ends it
 * fetches the calls missed meanwhile; they stay until dismissed.
 */
export class PauseController implements ReactiveController {
  /** Epoch ms at which the pause ends; undefined when calls are not paused. */
  pausedUntil: number | undefined;
  /** Epoch ms at which the pause began (from the API; the push socket does not carry it). */
  pausedAt: number | undefined;
  /** Why the distribution settings paused the user (a wrap-up, missed rings); undefined for their own pause. */
  pauseReason: PauseReason | undefined;
  /** A request is under way. */
  pending = false;
  /** Why the last request failed, for the person at the screen; '' when it did not. */
  error = '';
  /** The calls abandoned during the last pause, until dismissed; empty when there are none. */
  missed: MissedCalls = { calls: [] };

  #tick: ReturnType<typeof setTimeout> | undefined;
  #overdue: ReturnType<typeof setTimeout> | undefined;
  #request: AbortController | undefined;
  /** The last member object read from the push socket: a new one means news. */
  #seenMember: TeamMember | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly api: () => ApiClient,
    /** The logged-in user's team member as the push socket last told it. */
    private readonly self: () => TeamMember | undefined,
  ) {
    host.addController(this);
  }

  get paused(): boolean {
    return this.pausedUntil !== undefined;
  }

  /** Milliseconds left, read at render time. */
  get remainingMs(): number {
    return this.pausedUntil === undefined ? 0 : Math.max(0, this.pausedUntil - Date.now());
  }

  /** Whether "+5 minutes" stays within the longest pause allowed. */
  get canExtend(): boolean {
    if (this.pausedUntil === undefined) return false;
    if (this.pausedAt === undefined) return true;
    return this.pausedUntil + PAUSE_EXTEND_MINUTES * MINUTE_MS - this.pausedAt <= PAUSE_MAX_MINUTES * MINUTE_MS;
  }

  hostConnected(): void {
    void this.#load();
  }

  hostUpdate(): void {
    const member = this.self();
    if (member === undefined || member === this.#seenMember) return;
    this.#seenMember = member;
    // The member carries no start; it stays from the API unless the pause is over.
    this.#apply(member.state === 'paused' ? member.pausedUntil : undefined, this.pausedAt, member.pauseReason);
  }

  hostDisconnected(): void {
    this.#request?.abort();
    clearTimeout(this.#tick);
    clearTimeout(this.#overdue);
    this.#tick = undefined;
    this.#overdue = undefined;
  }

  /** Pauses incoming calls for `minutes` (or gives a running pause a new end). */
  pause(minutes: number): Promise<boolean> {
    return this.#change((signal) => this.api().pause({ body: { minutes } }, { signal }));
  }

  /** "+5 minutes". */
  extend(): Promise<boolean> {
    return this.#change((signal) => this.api().extendPause({ body: { minutes: PAUSE_EXTEND_MINUTES } }, { signal }));
  }

  /** "I'm back". */
  resume(): Promise<boolean> {
    return this.#change((signal) => this.api().resume({ signal }));
  }

  async dismissMissed(): Promise<void> {
    this.missed = { calls: [] };
    this.host.requestUpdate();
    try {
      await this.api().dismissMissedCalls();
    } catch (error) {
      debug('dismiss failed', error);
    }
  }

  clearError(): void {
    this.error = '';
    this.host.requestUpdate();
  }

  async #load(): Promise<void> {
    const signal = this.#begin();
    try {
      const [status, missed] = await Promise.all([
        this.api().pauseStatus({ signal }),
        this.api().missedCalls({ signal }),
      ]);
      this.missed = missed;
      this.#applyStatus(status);
    } catch (error) {
      if (signal.aborted) return;
      debug('load failed', error);
    }
    this.host.requestUpdate();
  }

  async #change(request: (signal: AbortSignal) => Promise<AgentStatus>): Promise<boolean> {
    if (this.pending) return false;
    const signal = this.#begin();
    this.pending = true;
    this.error = '';
    this.host.requestUpdate();
    try {
      this.#applyStatus(await request(signal));
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      debug('change failed', error);
      this.error = errorMessage(error);
      return false;
    } finally {
      if (!signal.aborted) {
        this.pending = false;
        this.host.requestUpdate();
      }
    }
  }

  #applyStatus(status: AgentStatus): void {
    this.#apply(status.state === 'paused' ? status.pausedUntil : undefined, status.pausedAt, status.pauseReason);
  }

  #apply(pausedUntil: number | undefined, pausedAt: number | undefined, reason: PauseReason | undefined): void {
    const wasPaused = this.paused;
    const wrapUp = this.pauseReason === 'wrap-up';
    this.pausedUntil = pausedUntil;
    this.pausedAt = pausedUntil === undefined ? undefined : pausedAt;
    this.pauseReason = pausedUntil === undefined ? undefined : reason;
    clearTimeout(this.#overdue);
    this.#overdue = undefined;
    if (pausedUntil !== undefined) {
      if (this.#tick === undefined) this.#schedule();
      return;
    }
    clearTimeout(this.#tick);
    this.#tick = undefined;
    // A wrap-up is no absence: nobody was missed during it (the server keeps no span for it).
    if (wasPaused && !wrapUp) void this.#loadMissed();
  }

  async #loadMissed(): Promise<void> {
    try {
      this.missed = await this.api().missedCalls();
      this.host.requestUpdate();
    } catch (error) {
      debug('missed calls failed', error);
    }
  }

  // On the second boundary of the end, so the countdown turns over exactly as the time passes.
  #schedule(): void {
    const until = this.pausedUntil;
    if (until === undefined) return;
    const left = until - Date.now();
    if (left <= 0) {
      this.#tick = undefined;
      this.host.requestUpdate();
      // The server ends the pause and says so on the push socket; if that word does not come (the
      // socket is reconnecting), ask.
      this.#overdue ??= setTimeout(() => {
        this.#overdue = undefined;
        if (this.pausedUntil === until) void this.#load();
      }, OVERDUE_CHECK_MS);
      return;
    }
    this.#tick = setTimeout(
      () => {
        this.host.requestUpdate();
        this.#schedule();
      },
      (left % 1000) + 5,
    );
  }

  #begin(): AbortSignal {
    this.#request?.abort();
    this.pending = false;
    this.#request = new AbortController();
    return this.#request.signal;
  }
}
