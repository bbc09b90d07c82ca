import type { Logger } from 'pino';

/** The moments of a new call's way from its INVITE to the first agent's INVITE, in the order they come. */
export type PostDialStep =
  /** The INVITE chain has admitted the call (PatientCall created). */
  | 'admitted'
  /** rtpengine has the patient's offer and the queue's answer. */
  | 'media-answered'
  /** Our 200 OK has gone to the patient. */
  | 'ok-sent'
  /** The patient's ACK is here. */
  | 'ack'
  /** Redis has the call in calls:waiting; the router is woken. */
  | 'queued'
  /** A routing pass has the candidates (read from Redis) and takes this call. */
  | 'routing'
  /** The claim script has answered. */
  | 'claimed'
  /** rtpengine has made the offer for the agent's leg. */
  | 'agent-offer'
  /** The INVITE to the agent has been handed to the connection to Kamailio. */
  | 'invite-sent';

/**
 * Where a new call's post-dial delay goes (bench/call-path.ts --spans): ms from the INVITE's arrival
 * to each step, written as one debug line ('post-dial timings') when the first INVITE to an agent
 * has gone. Below debug it keeps nothing, so production pays one level check per call.
 */
export class PostDialTimings {
  private marks: Partial<Record<PostDialStep, number>> | undefined;

  constructor(
    private readonly log: Logger,
    /** performance.now() when the INVITE reached the sip app. */
    private readonly receivedAt: number,
  ) {
    this.marks = log.isLevelEnabled('debug') ? {} : undefined;
  }

  /** The first time only: a ring that failed and a call that rings again says nothing new here. */
  mark(step: PostDialStep): void {
    if (this.marks && this.marks[step] === undefined) this.marks[step] = performance.now() - this.receivedAt;
  }

  /** Writes the line once, after the first 'invite-sent'. */
  report(): void {
    const marks = this.marks;
    if (!marks || marks['invite-sent'] === undefined) return;
    this.log.debug({ postDialMs: marks }, 'post-dial timings');
    this.marks = undefined;
  }
}
