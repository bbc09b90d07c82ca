import { assertCallMove, type CallState } from '@deskline/protocol';

/**
 * One call's position in the protocol's call state machine (diagram beside CALL_STATES in
 * protocol/src/calls.ts). A move the machine does not allow throws; the caller has a bug.
 */
export class CallStateMachine {
  private current: CallState;

  constructor(initial: CallState = 'intro') {
    this.current = initial;
  }

  get state(): CallState {
    return this.current;
  }

  /** Ended or abandoned: no move leads out. */
  get isFinal(): boolean {
    return this.current === 'ended' || this.current === 'abandoned';
  }

  moveTo(to: CallState): void {
    assertCallMove(this.current, to);
    this.current = to;
  }
}
