import type { Workstation } from '@deskline/protocol';
import type { CallBackDetail } from './elements/dl-task-card.js';
import { log } from './services/log.js';

const debug = log('dl:shell');

/** The browser's phone, as far as calling a patient back needs it. */
interface CallingPhone {
  readonly busy: boolean;
  call(target: string, options: { number?: string }): boolean;
}

/**
 * Who may call a patient back from here, and placing the call: it goes out from this browser's
 * phone, so it needs a browser workstation and no call on.
 */
export class CallbackPolicy {
  constructor(
    private readonly phone: CallingPhone,
    private readonly workstation: () => Workstation | undefined,
  ) {}

  /** Why this user cannot call a patient back now ('' when they can). */
  get blocked(): string {
    const workstation = this.workstation();
    if (workstation === undefined) return 'Choose a workstation to call patients back: the call goes out from it.';
    if (workstation.kind !== 'browser')
      return `Calling back works from a browser workstation; ${workstation.name} is a desk phone.`;
    if (this.phone.busy) return 'Finish the current call first.';
    return '';
  }

  /** A card's `call-back`: refusing the event tells the card that the phone could not place the call. */
  readonly place = (event: CustomEvent<CallBackDetail>): void => {
    const { taskId, target, number } = event.detail;
    debug('calling back for task', taskId);
    if (!this.phone.call(target, { number })) event.preventDefault();
  };
}
