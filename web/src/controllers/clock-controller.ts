import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * A clock for elements that show running times (a call timer, how long a patient has waited): the
 * host re-renders on every full second while it is connected.
 */
export class ClockController implements ReactiveController {
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** The time to render with (read at render time, so a render between ticks is not a second behind). */
  get now(): number {
    return Date.now();
  }

  hostConnected(): void {
    this.#schedule();
  }

  hostDisconnected(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // On the second boundary, so that every timer on the page turns over together.
  #schedule(): void {
    this.#timer = setTimeout(
      () => {
        this.host.requestUpdate();
        this.#schedule();
      },
      1000 - (Date.now() % 1000) + 5,
    );
  }
}
