import { errorMessage } from './error-message.js';

/**
 * One change at a time asked of the server by a managers' view: what is pending (a row's id, or 'add'),
 * the server's error for the alert, and what was done for the status line. The host re-renders on
 * each of them.
 */
export class AdminRequest {
  pending: string | undefined;
  error = '';
  done = '';

  constructor(private readonly host: { requestUpdate(): void }) {}

  /**
   * Runs `request` as `pending`; its answer is what the status line says. Resolves with whether it
   * succeeded, the error being in `error` if not.
   */
  async run(pending: string, request: () => Promise<string>): Promise<boolean> {
    this.pending = pending;
    this.error = '';
    this.done = '';
    this.host.requestUpdate();
    try {
      this.done = await request();
      return true;
    } catch (error) {
      this.error = errorMessage(error);
      return false;
    } finally {
      this.pending = undefined;
      this.host.requestUpdate();
    }
  }

  /** A failure outside a request (reading the list): shown in the alert. */
  fail(error: unknown): void {
    this.error = errorMessage(error);
    this.host.requestUpdate();
  }
}
