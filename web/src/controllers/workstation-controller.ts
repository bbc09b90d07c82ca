import type { AgentStatus, Workstation } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ApiRequestError, UNREACHABLE_MESSAGE, type ApiClient } from '../services/api-client.js';
import { log } from '../services/log.js';

const debug = log('dl:workstation');

function messageOf(error: unknown): string {
  return error instanceof ApiRequestError ? error.message : UNREACHABLE_MESSAGE;
}

/**
 * Which workstation the logged-in user works at, and the clinic's workstations to choose from. It
 * loads both when the host connects; `select` and `leave` ask the server and report the outcome in
 * `workstation` or `error`. `onChange` is told the user's workstation after every load and choice.
 */
export class WorkstationController implements ReactiveController {
  /** 'loading' until the first answer; 'failed' when the server could not be asked (see `error`). */
  status: 'loading' | 'ready' | 'failed' = 'loading';
  workstation: Workstation | undefined;
  /** The clinic's workstations, sorted by name. */
  workstations: readonly Workstation[] = [];
  /** Why the last load, choice or leave failed, for the person at the screen; '' when it did not. */
  error = '';
  /** The id of the workstation being chosen, '' while leaving, undefined when nothing is under way. */
  pending: string | undefined;

  #request: AbortController | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly api: () => ApiClient,
    private readonly onChange: (workstation: Workstation | undefined) => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.load();
  }

  hostDisconnected(): void {
    this.#request?.abort();
  }

  /** (Re)loads the user's workstation and the list. */
  async load(): Promise<void> {
    const signal = this.#begin();
    try {
      const [status, workstations] = await Promise.all([
        this.api().get<AgentStatus>('/api/workstation', { signal }),
        this.api().get<Workstation[]>('/api/workstations', { signal }),
      ]);
      this.workstations = workstations;
      this.status = 'ready';
      this.error = '';
      this.#setWorkstation(status.workstation);
    } catch (error) {
      if (signal.aborted) return;
      debug('load failed', error);
      if (this.status === 'loading') this.status = 'failed';
      this.error = messageOf(error);
    }
    this.host.requestUpdate();
  }

  /** Refreshes the list only (someone may have added a workstation). */
  async loadList(): Promise<void> {
    try {
      this.workstations = await this.api().get<Workstation[]>('/api/workstations');
      this.host.requestUpdate();
    } catch (error) {
      debug('list failed', error);
    }
  }

  /** Puts the user on `workstationId`; true when the server agreed. A refusal lands in `error`. */
  select(workstationId: string): Promise<boolean> {
    return this.#change(workstationId, 'select', async (signal) => {
      const status = await this.api().put<AgentStatus>('/api/workstation', { workstationId }, { signal });
      return status.workstation;
    });
  }

  /** Takes the user off their workstation; true when the server agreed. */
  leave(): Promise<boolean> {
    return this.#change('', 'leave', async (signal) => {
      await this.api().delete<void>('/api/workstation', { signal });
      return undefined;
    });
  }

  /**
   * One change of workstation at a time: marks it pending (`''` for leaving), asks the server, and
   * applies the answer or shows the refusal.
   */
  async #change(
    pending: string,
    what: string,
    request: (signal: AbortSignal) => Promise<Workstation | undefined>,
  ): Promise<boolean> {
    if (this.pending !== undefined) return false;
    const signal = this.#begin();
    this.pending = pending;
    this.error = '';
    this.host.requestUpdate();
    try {
      this.#setWorkstation(await request(signal));
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      debug(`${what} failed`, error);
      this.error = messageOf(error);
      return false;
    } finally {
      if (!signal.aborted) {
        this.pending = undefined;
        this.host.requestUpdate();
      }
    }
  }

  clearError(): void {
    this.error = '';
    this.host.requestUpdate();
  }

  #begin(): AbortSignal {
    this.#request?.abort();
    this.pending = undefined;
    this.#request = new AbortController();
    return this.#request.signal;
  }

  #setWorkstation(workstation: Workstation | undefined): void {
    this.workstation = workstation;
    this.onChange(workstation);
  }
}
