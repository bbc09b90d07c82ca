import type { Logger } from 'pino';
import type { WorkstationKind } from '@deskline/protocol';
import { PLAIN_RTP, TOWARDS_WORKSTATION } from './flags.js';
import { NgError } from './ng-client.js';
import type { Playback, RtpEngine } from './rtpengine.js';
import { mediaAddress, placeholderSdp, stripWebRtcOnlyLines } from './sdp.js';

/** rtpengine's tag for the queue's placeholder leg. Agents' legs get tags of their own. */
export const QUEUE_TAG = 'queue';

export class MediaSessionClosedError extends Error {
  override name = 'MediaSessionClosedError';
}

/**
 * One patient call's allocation in rtpengine. Whoever creates it calls `destroy()` on every way the
 * call can end; `destroy()` waits for a command still on its way, so a `delete` never overtakes the
 * `offer` that would recreate the call.
 */
export class MediaSession {
  private allocated = false;
  private destroyed = false;
  /** The patient's offer, kept for the offers to agents' legs. */
  private patientSdp = '';
  /** Where rtpengine told the patient to send media (from the 200 OK), to notice if it ever moves. */
  private patientFacing: string | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: RtpEngine,
    /** rtpengine's call id. */
    readonly callId: string,
    /** The patient's SIP From tag. */
    readonly patientTag: string,
    private readonly log: Logger,
  ) {}

  /**
   * Offers the patient's SDP, answers it for the queue with the placeholder, and returns the SDP for
   * the patient's 200 OK.
   */
  answerForQueue(patientSdp: string): Promise<string> {
    return this.run(async () => {
      this.allocated = true;
      this.patientSdp = patientSdp;
      await this.engine.offer({ callId: this.callId, fromTag: this.patientTag, sdp: patientSdp, flags: PLAIN_RTP });
      const answer = await this.engine.answer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: QUEUE_TAG,
        sdp: placeholderSdp(Date.now()),
        flags: PLAIN_RTP,
      });
      this.patientFacing = mediaAddress(answer);
      return stripWebRtcOnlyLines(answer);
    });
  }

  /**
   * Opens a branch towards an agent's workstation under its own tag and returns the SDP offer for the
   * INVITE: WebRTC for a browser, plain RTP for a desk phone (`TOWARDS_WORKSTATION`). The queue's
   * placeholder leg stays plain RTP (turning it into WebRTC breaks DTLS), and the hold music keeps
   * playing to the patient while the agent's phone rings.
   */
  offerToAgent(agentTag: string, kind: WorkstationKind): Promise<string> {
    return this.run(async () => {
      const offer = await this.engine.offer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: agentTag,
        sdp: this.patientSdp,
        flags: TOWARDS_WORKSTATION[kind],
      });
      // A desk phone is a plain SIP peer: no WebRTC-only lines, as for the trunk.
      return kind === 'browser' ? offer : stripWebRtcOnlyLines(offer);
    });
  }

  /**
   * Completes the agent's branch with the browser's SDP answer; from then on media flows between the
   * patient and the agent (under the hold music until it is stopped). The SDP rtpengine returns is
   * for the patient, who already has it: rtpengine keeps the patient's port.
   */
  answerFromAgent(agentTag: string, agentSdp: string): Promise<void> {
    return this.run(async () => {
      const forPatient = await this.engine.answer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: agentTag,
        sdp: agentSdp,
        flags: PLAIN_RTP,
      });
      const now = mediaAddress(forPatient);
      if (now !== this.patientFacing) {
        // Not seen with rtpengine 10.5; the patient would need a re-INVITE with the new address.
        this.log.warn({ before: this.patientFacing, now }, "rtpengine moved the patient's media address");
      }
    });
  }

  /**
   * Deletes an agent's branch that was not answered, freeing its port. rtpengine 10.5 stops the
   * patient's playback with it, so whoever goes on waiting plays the hold music again.
   */
  dropAgent(agentTag: string): Promise<void> {
    return this.run(() => this.engine.deleteBranch({ callId: this.callId, fromTag: this.patientTag, toTag: agentTag }));
  }

  /** Plays a file to the patient, replacing whatever played before. */
  playToPatient(file: string, repeatTimes: number): Promise<Playback> {
    return this.run(() => this.engine.playMedia({ callId: this.callId, fromTag: this.patientTag, file, repeatTimes }));
  }

  stopPlayback(): Promise<void> {
    return this.run(() => this.engine.stopMedia({ callId: this.callId, fromTag: this.patientTag }));
  }

  /** Deletes the call in rtpengine. Safe to call more than once and on any path; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.inFlight.catch(() => undefined);
    if (!this.allocated) return;
    try {
      await this.engine.delete({ callId: this.callId, fromTag: this.patientTag });
      this.log.debug('rtpengine session deleted');
    } catch (err) {
      // rtpengine may already have dropped it (its own timeout); anything else is worth a warning.
      if (err instanceof NgError && /unknown call/i.test(err.reason)) return;
      this.log.warn({ err }, 'could not delete the rtpengine session');
    }
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.destroyed) return Promise.reject(new MediaSessionClosedError('the media session is closed'));
    const result = this.inFlight.catch(() => undefined).then(operation);
    this.inFlight = result;
    return result;
  }
}
