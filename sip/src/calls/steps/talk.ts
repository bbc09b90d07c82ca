import type { Logger } from 'pino';
import type { MediaSession } from '../../media/media-session.js';
import type { AgentGone, AgentLeg } from '../agent-leg.js';
import type { CallStep } from './call-step.js';

/**
 * The patient and the agent talk: the hold music stops, and the agent's BYE (or their workstation
 * vanishing) ends the call. A talk
 * adopted from a process that died has no music to stop: that process stopped it.
 */
export class TalkStep implements CallStep {
  readonly name = 'talk';
  private stopped = false;

  constructor(
    private readonly media: MediaSession,
    private readonly leg: AgentLeg,
    private readonly log: Logger,
    private readonly onAgentHungUp: (gone: AgentGone) => void,
    private readonly musicPlaying = true,
  ) {}

  async start(): Promise<void> {
    void this.leg.hungUp.then((gone) => {
      if (!this.stopped) this.onAgentHungUp(gone);
    });
    if (!this.musicPlaying) return;
    await this.media.stopPlayback();
    this.log.debug('hold music stopped: the patient hears the agent');
  }

  stop(): void {
    // Hanging up the agent's leg is the call's to do: it knows whether the agent already has.
    this.stopped = true;
  }
}
