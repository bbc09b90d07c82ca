import { FINAL_CALL_STATES, assertCallMove, type CallState } from '@deskline/protocol';

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

  /** No move leads out (FINAL_CALL_STATES). */
  get isFinal(): boolean {
    return FINAL_CALL_STATES.includes(this.current);
  }

  moveTo(to: CallState): void {
    assertCallMove(this.current, to);
    this.current = to;
  }
}
