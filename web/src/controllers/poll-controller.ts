import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Runs `task` every `intervalMs` while the host is connected, never two at once: for a view that shows
 * something the server learns without telling the panel (a desk phone registering with Kamailio).
 */
export class PollController implements ReactiveController {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #connected = false;

  constructor(
    host: ReactiveControllerHost,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.#connected = true;
    this.#schedule();
  }

  hostDisconnected(): void {
    this.#connected = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.task().finally(() => {
        if (this.#connected) this.#schedule();
      });
    }, this.intervalMs);
  }
}
