/**
 * How far apart the first keepalives of adopted calls go out (ms). A restart that adopts hundreds of
 * calls asks each of their legs at once, but one OPTIONS every ADOPTION_PROBE_SPACING_MS (200 a
 * second: 500 calls are all asked within 2.5 s) rather than all in the same millisecond.
 */
export const ADOPTION_PROBE_SPACING_MS = 5;

/**
 * How long after the connection to Kamailio comes up the first probe waits (ms). Kamailio holds an
 * in-dialog request that found no sip app connected (a hang-up sent during the restart) and resumes
 * it within 100 ms of the connection (SIP_APP_HELD_TICK in kamailio.cfg): it arrives first and ends
 * the call as the hang-up it is, and the probes then find only what was lost on the way.
 */
export const ADOPTION_PROBE_AFTER_CONNECT_MS = 500;

export interface AdoptionProbesOptions {
  /** One send every spacingMs at most. */
  spacingMs?: number;
  /** False while the connection to Kamailio is down: the queue waits (a probe then proves nothing). */
  ready(): boolean;
  /** How soon the queue looks again while not ready. */
  retryMs?: number;
}

/**
 * The queue of the first keepalive OPTIONS of adopted calls (PatientKeepalive.probePaced), one owner
 * per sip app process: right after a restart, every adopted call's legs are asked whether they are
 * still there (docs/call-path.md, "Adopted calls are asked at once"), in the order they were adopted,
 * spaced ADOPTION_PROBE_SPACING_MS apart, and only once the connection to Kamailio is up (at start
 * the calls are adopted before it is), so that the connection does not bring them all at once.
 */
export class AdoptionProbes {
  private readonly queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly spacingMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: AdoptionProbesOptions) {
    this.spacingMs = options.spacingMs ?? ADOPTION_PROBE_SPACING_MS;
    this.retryMs = options.retryMs ?? 100;
  }

  /** Runs `send` in its turn. A send whose keepalive stopped meanwhile does nothing (its own check). */
  enqueue(send: () => void): void {
    this.queue.push(send);
    if (!this.timer) this.next();
  }

  /** Stops sending; the process stops. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private next(): void {
    this.timer = undefined;
    const send = this.queue[0];
    if (!send) return;
    if (!this.options.ready()) {
      this.timer = setTimeout(() => this.next(), this.retryMs);
      return;
    }
    this.queue.shift();
    send();
    this.timer = setTimeout(() => this.next(), this.spacingMs);
  }
}
