import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import type { CallView } from './calls.js';

/**
 * How a call nobody answered ends up (issue 16, docs/call-board.md "Outcomes"), as the product we
 * follow defines it:
 *   - Abandoned: the patient hung up during the intro (or the keypad menu), before the clinic tried
 *     to put them through. No Call back, unless managers turn `abandonedCallbacks` on.
 *   - Unanswered: everything else nobody answered: a hang-up while waiting or ringing (or in the
 *     overflow offer, or the voicemail greeting), a callback request, a voicemail message, a call
 *     that heard the closed message. A callback task.
 */

/** Whether a call ended with the patient hanging up during the intro or the menu. */
export function hungUpDuringIntro(call: Pick<CallView, 'state' | 'abandonedIn' | 'queuedAt'>): boolean {
  if (call.state !== 'abandoned') return false;
  // A call record of an older sip app may lack abandonedIn: the queue was reached or not.
  if (call.abandonedIn === undefined) return call.queuedAt === undefined;
  return call.abandonedIn === 'intro' || call.abandonedIn === 'menu';
}

/** GET (everyone logged in) and PUT (managers) /api/settings/outcomes. */
export const OutcomeSettingsSchema = Type.Object(
  {
    /** Abandoned tasks (hung up during the intro) get the Call back button too. Off by default. */
    abandonedCallbacks: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type OutcomeSettings = Static<typeof OutcomeSettingsSchema>;

export const DEFAULT_OUTCOME_SETTINGS: OutcomeSettings = { abandonedCallbacks: false };

/**
 * Whether a task of this status may be called back (the server checks the number and the callback
 * policy besides): an Unanswered one always, an Abandoned one when managers turned that on.
 */
export function statusMayBeCalledBack(status: string, settings: OutcomeSettings): boolean {
  return status === 'unanswered' || (status === 'abandoned' && settings.abandonedCallbacks);
}
