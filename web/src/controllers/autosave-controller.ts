import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { errorMessage } from '../services/error-message.js';

/** Where an editor's last change stands, for the line under it. */
export type SaveState = { state: 'idle' | 'saving' | 'saved' } | { state: 'error'; message: string };

export interface AutosaveOptions<T, R> {
  /** Asks the server to keep `value`. */
  save(value: T): Promise<R>;
  /** The server kept the latest value; `result` is its answer. */
  saved(result: R): void;
  /** After the last change, wait this long for another before saving (typing); 0 saves at once. */
  delayMs?: number;
  /** The server already has `value`: nothing to send. */
  isSaved?(value: T): boolean;
  /** After a refusal, keep showing the value (typed text is not lost) rather than the server's. */
  keepFailed?: boolean;
}

/**
 * How an editor of a task saves: each change becomes the `draft` (shown instead of the server's
 * value), is saved after `delayMs` (or at `flush()`, or when the host goes away), and `state` says
 * saving, saved or why not. Only the answer to the latest save of the value still shown counts: a
 * change made meanwhile is saved by its own turn. After a refusal the next change, or submit, tries
 * again.
 */
export class AutosaveController<T, R> implements ReactiveController {
  #state: SaveState = { state: 'idle' };
  #draft: T | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #latest = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: AutosaveOptions<T, R>,
  ) {
    host.addController(this);
  }

  get state(): SaveState {
    return this.#state;
  }

  /** The value changed here and not yet saved (or refused, with `keepFailed`). */
  get draft(): T | undefined {
    return this.#draft;
  }

  /** A change waits for its delay. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  edit(value: T): void {
    this.#draft = value;
    this.#set({ state: 'idle' });
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.options.delayMs) this.#timer = setTimeout(() => void this.#save(), this.options.delayMs);
    else void this.#save();
  }

  /** Saves a change that waits for its delay now (the field was left, or the task is being closed). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) await this.#save();
  }

  /** The server's value now shows the draft (its push came before the answer): show the server's. */
  settle(): void {
    this.#draft = undefined;
  }

  /** Back to nothing said, e.g. when the editor opens again. */
  reset(): void {
    this.#set({ state: 'idle' });
  }

  hostDisconnected(): void {
    // Leaving the board (or the task closing) must not lose what was typed.
    void this.flush();
  }

  async #save(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const value = this.#draft;
    if (value === undefined || this.options.isSaved?.(value)) {
      this.#draft = undefined;
      return;
    }
    const request = ++this.#latest;
    // A later change, or a later save, makes this answer old news.
    const current = (): boolean => request === this.#latest && (this.#draft === undefined || this.#draft === value);
    this.#set({ state: 'saving' });
    try {
      const result = await this.options.save(value);
      if (!current()) return;
      this.#draft = undefined;
      this.#set({ state: 'saved' });
      this.options.saved(result);
    } catch (error) {
      if (!current()) return;
      if (!this.options.keepFailed) this.#draft = undefined;
      this.#set({ state: 'error', message: errorMessage(error) });
    }
  }

  #set(state: SaveState): void {
    this.#state = state;
    this.host.requestUpdate();
  }
}
