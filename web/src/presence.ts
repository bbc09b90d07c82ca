import { presenceDot, type PauseReason, type PresenceDot, type TeamMember } from '@deskline/protocol';
import { formatClockTime } from './format.js';

/** The status dot of a member and the words a screen reader says for it. */
export interface PresenceView {
  dot: PresenceDot;
  label: string;
}

/** How a pause the distribution settings made reads (issue 16): what the user and the team see. */
const PAUSED_BY: Record<PauseReason, string> = {
  'wrap-up': 'Wrap-up',
  'no-answer': 'Paused after unanswered calls',
};

export function presenceView(
  member: Pick<TeamMember, 'state' | 'online' | 'pausedUntil' | 'pauseReason'>,
): PresenceView {
  const dot = presenceDot(member);
  switch (dot) {
    case 'available':
      return { dot, label: 'Available' };
    case 'busy':
      return { dot, label: member.state === 'ringing' ? 'Ringing' : 'On a call' };
    case 'inactive': {
      const paused = member.pauseReason === undefined ? 'Paused' : PAUSED_BY[member.pauseReason];
      return {
        dot,
        label: member.pausedUntil === undefined ? paused : `${paused} until ${formatClockTime(member.pausedUntil)}`,
      };
    }
    case 'offline':
      return { dot, label: 'Offline' };
  }
}
