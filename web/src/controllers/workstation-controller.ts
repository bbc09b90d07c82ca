import type { Workstation, WorkstationListItem } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';

const debug = log('dl:workstation');

/**
 * How often the list (who is on each workstation, whether its phone is registered) and the user's own
 * workstation are read again: a desk phone that registers, a colleague who takes or leaves a
 * workstation, or this user switching in another tab show up within this time.
 */
const REFRESH_MS = 10_000;

/**
 * Which workstation the logged-in user works at, and the clinic's workstations to choose from (with
 * who is on each and whether its phone is registered). It loads both when the host connects and
 * reads them again every REFRESH_MS; `select` and `leave` ask the server and report the outcome in
 * `workstation` or `error`. `onChange` is told the user's workstation after every load and choice.
 */
export class WorkstationController implements ReactiveController {
  /** 'loading' until the first answer; 'failed' when the server could not be asked (see `error`). */
  status: 'loading' | 'ready' | 'failed' = 'loading';
  workstation: Workstation | undefined;
  /** The clinic's workstations, sorted by name. */
  workstations: readonly WorkstationListItem[] = [];
  /** Why the last load, choice or leave failed, for the person at the screen; '' when it did not. */
  error = '';
  /** The id of the workstation being chosen, '' while leaving, undefined when nothing is under way. */
  pending: string | undefined;

  #request: AbortController | undefined;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  /** Counts loads and changes, so that a refresh that overlapped one of them is dropped. */
  #version = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly api: () => ApiClient,
    private readonly onChange: (workstation: Workstation | undefined) => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.load();
    this.#refreshTimer = setInterval(() => void this.#refresh(), REFRESH_MS);
  }

  hostDisconnected(): void {
    this.#request?.abort();
    clearInterval(this.#refreshTimer);
  }

  /** This user's workstation as the list shows it (its registration), if they have one. */
  get current(): WorkstationListItem | undefined {
    const id = this.workstation?.id;
    return id === undefined ? undefined : this.workstations.find((workstation) => workstation.id === id);
  }

  /** (Re)loads the user's workstation and the list. */
  async load(): Promise<void> {
    const signal = this.#begin();
    try {
      const [status, workstations] = await Promise.all([
        this.api().agentStatus({ signal }),
        this.api().listWorkstations({ signal }),
      ]);
      this.workstations = workstations;
      this.status = 'ready';
      this.error = '';
      this.#setWorkstation(status.workstation);
    } catch (error) {
      if (signal.aborted) return;
      debug('load failed', error);
      if (this.status === 'loading') this.status = 'failed';
      this.error = errorMessage(error);
    }
    this.host.requestUpdate();
  }

  /** Refreshes the list only (someone may have added a workstation). */
  async loadList(): Promise<void> {
    const version = this.#version;
    try {
      const workstations = await this.api().listWorkstations();
      if (version !== this.#version) return;
      this.workstations = workstations;
      this.host.requestUpdate();
    } catch (error) {
      debug('list failed', error);
    }
  }

  /** Puts the user on `workstationId`; true when the server agreed. A refusal lands in `error`. */
  select(workstationId: string): Promise<boolean> {
    return this.#change(workstationId, 'select', async (signal) => {
      const status = await this.api().selectWorkstation({ body: { workstationId } }, { signal });
      return status.workstation;
    });
  }

  /** Takes the user off their workstation; true when the server agreed. */
  leave(): Promise<boolean> {
    return this.#change('', 'leave', async (signal) => {
      await this.api().leaveWorkstation({ signal });
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
      // Who is on which workstation has changed with this.
      void this.loadList();
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      debug(`${what} failed`, error);
      this.error = errorMessage(error);
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

  /**
   * Reads the list and the user's workstation again, quietly: a failure leaves what is shown, and a
   * load or change that started meanwhile wins.
   */
  async #refresh(): Promise<void> {
    if (this.pending !== undefined || this.status !== 'ready') return;
    const version = this.#version;
    try {
      const [status, workstations] = await Promise.all([this.api().agentStatus(), this.api().listWorkstations()]);
      if (version !== this.#version || this.pending !== undefined) return;
      this.workstations = workstations;
      if (status.workstation?.id !== this.workstation?.id) {
        debug('workstation changed elsewhere:', status.workstation?.name ?? 'none');
        this.#setWorkstation(status.workstation);
      }
      this.host.requestUpdate();
    } catch (error) {
      debug('refresh failed', error);
    }
  }

  #begin(): AbortSignal {
    this.#version += 1;
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
