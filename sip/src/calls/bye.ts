import type { Logger } from 'pino';
import type { Session } from 'sip.js/lib/core/index.js';

/** How long a BYE we send may take to be answered before we stop waiting (it matters at shutdown). */
export const BYE_WAIT_MS = 2_000;

/**
 * Sends BYE in the session's dialog (with `extraHeaders`, whole "Name: value" lines); resolves when it
 * is answered, or after BYE_WAIT_MS. Never throws.
 */
export function sendBye(session: Session, log: Logger, extraHeaders: string[] = []): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, BYE_WAIT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    try {
      // A timeout or a transport error comes back as a 408 or 503 through onReject.
      session.bye({ onAccept: done, onReject: done }, { extraHeaders });
    } catch (err) {
      // SIP.js refuses a BYE while our 200 OK still awaits its ACK (RFC 3261 §15).
      log.warn({ err }, 'could not send BYE');
      session.dispose();
      done();
    }
  });
}
