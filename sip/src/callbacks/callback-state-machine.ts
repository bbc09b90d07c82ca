import type { CallbackOutcome, CallbackState } from '@deskline/protocol';

/**
 * One callback's position in the protocol's machine (protocol/src/callbacks.ts):
 *
 *   dialing ──(180/183)──> ringing ──(200)──> answered ──(BYE either side)──> ended (answered)
 *      └──────────────────────┴──(busy, no answer, declined, failed, cancelled)──> ended (<outcome>)
 *
 * A move the machine does not allow throws; the caller has a bug.
 */
const MOVES: Readonly<Record<CallbackState, readonly CallbackState[]>> = {
  dialing: ['ringing', 'answered', 'ended'],
  ringing: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

export class CallbackStateMachine {
  private current: CallbackState = 'dialing';

  get state(): CallbackState {
    return this.current;
  }

  get isEnded(): boolean {
    return this.current === 'ended';
  }

  moveTo(to: CallbackState): void {
    if (!MOVES[this.current].includes(to)) throw new Error(`illegal callback move ${this.current} -> ${to}`);
    this.current = to;
  }
}

/**
 * The outcome of a callback that ended before the patient answered, from the trunk's final response.
 * A 408 before anything rang is Kamailio's (or our) timeout on a trunk that never answered: failed.
 */
export function outcomeOfFailure(
  statusCode: number,
  rang: boolean,
): Exclude<CallbackOutcome, 'answered' | 'cancelled'> {
  if (statusCode === 486 || statusCode === 600) return 'busy';
  if (statusCode === 408) return rang ? 'no-answer' : 'failed';
  if (statusCode === 480 || statusCode === 487) return 'no-answer';
  if (statusCode === 603) return 'rejected';
  return 'failed';
}
