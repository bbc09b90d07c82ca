import { presenceDot, type PresenceDot, type TeamMember } from '@deskline/protocol';
import { formatClockTime } from './format.js';

/** The status dot of a member and the words a screen reader says for it. */
export interface PresenceView {
  dot: PresenceDot;
  label: string;
}

export function presenceView(member: Pick<TeamMember, 'state' | 'online' | 'pausedUntil'>): PresenceView {
  const dot = presenceDot(member);
  switch (dot) {
    case 'available':
      return { dot, label: 'Available' };
    case 'busy':
      return { dot, label: member.state === 'ringing' ? 'Ringing' : 'On a call' };
    case 'inactive':
      return {
        dot,
        label: member.pausedUntil === undefined ? 'Paused' : `Paused until ${formatClockTime(member.pausedUntil)}`,
      };
    case 'offline':
      return { dot, label: 'Offline' };
  }
}
