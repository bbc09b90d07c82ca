import type { Callback } from './callback-call.js';

/** The callbacks this process holds, so that a shutdown can end each one. */
export class CallbackRegistry {
  private readonly callbacks = new Map<string, Callback>();

  get size(): number {
    return this.callbacks.size;
  }

  /** Tracks the callback until it has ended. */
  add(callback: Callback): void {
    this.callbacks.set(callback.id, callback);
    void callback.ended.then(() => this.callbacks.delete(callback.id));
  }

  /** rtpengine restarted: a callback it did not get back ends (Callback.afterRtpengineRestart). */
  async afterRtpengineRestart(): Promise<void> {
    await Promise.all([...this.callbacks.values()].map((callback) => callback.afterRtpengineRestart()));
  }

  /** Ends every callback (BYE or CANCEL to the patient, BYE or 503 to the browser) and waits for their cleanup. */
  async endAll(): Promise<void> {
    await Promise.all(
      [...this.callbacks.values()].map((callback) =>
        callback.end('shutdown', callback.state === 'answered' ? 'answered' : 'failed', [503, 'Service Unavailable']),
      ),
    );
  }
}
