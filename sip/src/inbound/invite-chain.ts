import type { Logger } from 'pino';
import type { IncomingInviteRequest } from 'sip.js/lib/core/index.js';

/** What an INVITE step decided. */
export type StepOutcome =
  /** Pass the call to the next step. */
  | { next: true }
  /** The step took the call over (answered it, or will); the chain stops. */
  | { taken: true }
  /** End the call with this final response; `why` is the log line. */
  | { reject: { statusCode: number; reasonPhrase: string; why: string } };

export interface InviteContext {
  readonly request: IncomingInviteRequest;
  /** Child logger bound to the SIP Call-ID. */
  readonly log: Logger;
  /** performance.now() when the INVITE reached the sip app (PostDialTimings). */
  readonly receivedAt?: number;
  /** The clinic line dialled, once a step has found it. */
  line?: string;
}

export interface InviteStep {
  readonly name: string;
  run(context: InviteContext): StepOutcome | Promise<StepOutcome>;
}

export const next: StepOutcome = { next: true };
export const taken: StepOutcome = { taken: true };
export function reject(statusCode: number, reasonPhrase: string, why: string): StepOutcome {
  return { reject: { statusCode, reasonPhrase, why } };
}

/**
 * Runs a new INVITE through the steps in order. Each step passes it on, takes it over, or ends it
 * with an explicit status and a log line. A step that throws ends the call with 500.
 */
export async function runInviteChain(steps: readonly InviteStep[], context: InviteContext): Promise<void> {
  const { log } = context;
  for (const step of steps) {
    let outcome: StepOutcome;
    try {
      outcome = await step.run(context);
    } catch (err) {
      log.error({ err, step: step.name }, 'INVITE step failed; answering 500');
      safeReject(context, 500, 'Server Internal Error');
      return;
    }
    if ('taken' in outcome) return;
    if ('reject' in outcome) {
      const { statusCode, reasonPhrase, why } = outcome.reject;
      log.info({ step: step.name, statusCode }, why);
      safeReject(context, statusCode, reasonPhrase);
      return;
    }
  }
  log.error('no INVITE step took the call; answering 500');
  safeReject(context, 500, 'Server Internal Error');
}

function safeReject(context: InviteContext, statusCode: number, reasonPhrase: string): void {
  try {
    context.request.reject({ statusCode, reasonPhrase });
  } catch (err) {
    // The transaction may have ended meanwhile (CANCEL).
    context.log.warn({ err, statusCode }, 'could not send the final response');
  }
}
