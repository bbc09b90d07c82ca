import type { Logger } from 'pino';
import type { WorkstationKind } from '@deskline/protocol';
import { PLAIN_RTP, TOWARDS_WORKSTATION, WEBRTC, flagsFor } from './flags.js';
import { packetsFromTag } from './packets.js';
import { isUnknownCall, type Playback, type RtpEngine } from './rtpengine.js';
import {
  answerDirection,
  carriesAudio,
  mediaAddress,
  onlyCarriedCodecs,
  placeholderSdp,
  sameSdpVersion,
  stripWebRtcOnlyLines,
  withDirection,
  withSdpOrigin,
} from './sdp.js';

/** rtpengine's tag for the queue's placeholder leg. Agents' legs get tags of their own. */
export const QUEUE_TAG = 'queue';

/**
 * The recorder's answer to rtpengine's offer of a copy: the same codecs, at the recorder's address,
 * receiving only.
 */
export function recorderSdp(offer: string, address: string, port: number): string {
  const lines = offer.split(/\r?\n/).filter((line) => line !== '');
  const media = lines.find((line) => line.startsWith('m=audio ')) ?? 'm=audio 0 RTP/AVP 0';
  const formats = media.split(' ').slice(3);
  const rtpmaps = lines.filter((line) => line.startsWith('a=rtpmap:') || line.startsWith('a=fmtp:'));
  return [
    'v=0',
    `o=recorder ${Date.now()} 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${formats.join(' ')}`,
    ...rtpmaps,
    'a=recvonly',
    '',
  ].join('\r\n');
}

export class MediaSessionClosedError extends Error {
  override name = 'MediaSessionClosedError';
}

/** The patient's description has no audio codec the call can carry (`carriesAudio`): nothing goes to rtpengine. */
export class NoCarriedAudioError extends Error {
  override name = 'NoCarriedAudioError';
}

/** The SDP we last sent the patient, under our own o= line: one session id, a version that grows with each change. */
export interface SentSdp {
  sessionId: number;
  version: number;
  sdp: string;
}

/**
 * What another process needs to carry on with the call's rtpengine session (which outlives a
 * crashed sip app): the tags, and the descriptions each side has.
 */
export interface MediaSnapshot {
  patientTag: string;
  patientSdp: string;
  /** The placeholder the queue's leg answered with. */
  queueSdp: string;
  sentToPatient: SentSdp;
  /** The agent whose branch is connected (answered), and the SDP their workstation answered with. */
  agent?: { tag: string; sdp: string; kind?: WorkstationKind };
}

/**
 * One patient call's allocation in rtpengine. Whoever creates it calls `destroy()` on every way the
 * call can end; `destroy()` waits for a command still on its way, so a `delete` never overtakes the
 * `offer` that would recreate the call.
 */
export class MediaSession {
  private allocated = false;
  private destroyed = false;
  /** The patient's latest description, kept for the offers to agents' legs and to tell a new one from it. */
  private patientSdp = '';
  private queueSdp = '';
  private sent: SentSdp = { sessionId: Date.now(), version: 0, sdp: '' };
  /** The agent's connected branch: from then on the patient's media peer. */
  private agent: { tag: string; sdp: string; kind: WorkstationKind } | undefined;
  /** The kind of workstation each branch offered to reaches, until one answers. */
  private readonly offered = new Map<string, WorkstationKind>();
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

  /** Takes over a session in rtpengine that another process set up (it was there before this process). */
  static restore(engine: RtpEngine, callId: string, snapshot: MediaSnapshot, log: Logger): MediaSession {
    const media = new MediaSession(engine, callId, snapshot.patientTag, log);
    media.allocated = true;
    // A call set up by a version that kept the patient's whole codec list: narrowed from the next offer on.
    media.patientSdp = onlyCarriedCodecs(snapshot.patientSdp);
    media.queueSdp = snapshot.queueSdp;
    media.sent = { ...snapshot.sentToPatient };
    media.agent = snapshot.agent ? { kind: 'browser', ...snapshot.agent } : undefined;
    media.patientFacing = mediaAddress(snapshot.sentToPatient.sdp);
    return media;
  }

  snapshot(): MediaSnapshot {
    return {
      patientTag: this.patientTag,
      patientSdp: this.patientSdp,
      queueSdp: this.queueSdp,
      sentToPatient: { ...this.sent },
      ...(this.agent ? { agent: { ...this.agent } } : {}),
    };
  }

  /** Our current description for the patient (an offer, when the patient's re-INVITE has none). */
  get sdpForPatient(): string {
    return this.sent.sdp;
  }

  /**
   * Offers the patient's SDP, answers it for the queue with the placeholder, and returns the SDP for
   * the patient's 200 OK. rtpengine sees the patient's codecs narrowed to the ones the call carries
   * (`onlyCarriedCodecs`), here and in every later description of the patient's.
   */
  answerForQueue(offer: string): Promise<string> {
    return this.run(async () => {
      this.allocated = true;
      const patientSdp = onlyCarriedCodecs(offer);
      this.patientSdp = patientSdp;
      this.queueSdp = placeholderSdp(Date.now());
      await this.engine.offer({
        callId: this.callId,
        fromTag: this.patientTag,
        sdp: patientSdp,
        flags: flagsFor(PLAIN_RTP, 'trunk'),
      });
      const answer = await this.engine.answer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: QUEUE_TAG,
        sdp: this.queueSdp,
        // The placeholder's port 9 on 127.0.0.1 sends nothing: nothing may come in on the queue's leg.
        flags: flagsFor(PLAIN_RTP, 'trunk'),
      });
      this.patientFacing = mediaAddress(answer);
      return this.stampForPatient(answer);
    });
  }

  /**
   * A late offer (an INVITE without SDP): returns our offer for the patient's 200 OK. rtpengine only
   * writes descriptions in reply to one, so it is given a stand-in for the patient's offer (the
   * placeholder: PCMU, PCMA, telephone-event, on a port nothing listens to) and the queue's
   * placeholder as the answer, as `answerForQueue` does; what it writes for the patient, its own
   * address and ports with PCMU, PCMA and telephone-event, is our offer. The patient's answer in the
   * ACK then goes to rtpengine through `patientAnswer`, as an answer to a re-INVITE without SDP does:
   * a new offer under the same tags, which keeps rtpengine's ports and sets the patient's address
   * (strict source, as for an early offer, from then on).
   */
  async offerForPatient(): Promise<string> {
    const offer = await this.answerForQueue(placeholderSdp(Date.now()));
    // The stand-in describes no one: the patient's first answer must reach rtpengine, whatever its o= line.
    this.patientSdp = '';
    return offer;
  }

  /**
   * The patient's new offer (a re-INVITE or UPDATE, e.g. a trunk's session refresh, RFC 4028):
   * returns our answer. The same version as before (same o= line) gets the answer we sent last,
   * and rtpengine is not asked. A changed one (address, port, codec, hold) is offered again to
   * rtpengine under the same tags, towards the patient's current peer (the queue's placeholder, or
   * the agent once connected), and answered with that peer's description; rtpengine keeps its own
   * ports and whatever it is playing, so the hold music and a bridged conversation go on.
   */
  patientOffer(offer: string): Promise<string> {
    return this.run(async () => {
      if (sameSdpVersion(offer, this.patientSdp)) return this.sent.sdp;
      if (!carriesAudio(offer)) throw new NoCarriedAudioError('the offer has no audio codec we can carry');
      const answer = await this.renegotiate(onlyCarriedCodecs(offer));
      return this.stampForPatient(answer);
    });
  }

  /**
   * The patient's answer (in the ACK) to the offer we made in a 200 to a re-INVITE without SDP. A
   * changed description goes to rtpengine as `patientOffer` does; what rtpengine would answer is
   * the description the patient already has.
   */
  patientAnswer(answer: string): Promise<void> {
    return this.run(async () => {
      if (sameSdpVersion(answer, this.patientSdp)) return;
      if (!carriesAudio(answer)) throw new NoCarriedAudioError('the answer has no audio codec we can carry');
      await this.renegotiate(onlyCarriedCodecs(answer));
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
      this.offered.set(agentTag, kind);
      const offer = await this.engine.offer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: agentTag,
        sdp: this.patientSdp,
        flags: flagsFor(TOWARDS_WORKSTATION[kind], 'trunk'),
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
        flags: flagsFor(PLAIN_RTP, this.offered.get(agentTag) ?? 'browser'),
      });
      this.agent = { tag: agentTag, sdp: agentSdp, kind: this.offered.get(agentTag) ?? 'browser' };
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

  /**
   * How many RTP packets rtpengine has received from the patient (their tag's RTP streams), from
   * `query`; undefined when the reply does not say. Not queued behind other commands: it changes
   * nothing.
   */
  async packetsFromPatient(): Promise<number | undefined> {
    if (this.destroyed) return undefined;
    return packetsFromTag(this.engine, this.callId, this.patientTag);
  }

  /**
   * Whether rtpengine holds this call: after a restart, whether it got the call back from its Redis
   * keyspace. True for a session that has nothing in rtpengine (yet, or any more).
   */
  async heldByRtpengine(): Promise<boolean> {
    if (this.destroyed || !this.allocated) return true;
    return this.engine.holds(this.callId);
  }

  /**
   * After an rtpengine restart, a new offer for the connected browser, for a re-INVITE: a call read
   * back from rtpengine's keyspace forwards media, but with ICE credentials and a DTLS certificate of
   * the new process, so it fails the browser's ICE checks and the browser stops sending after some
   * 10 s. The offer carries the new ones (an ICE restart and a new DTLS handshake for the browser);
   * its answer goes to `answerFromAgent`. Undefined for a desk phone (plain RTP needs nothing) or
   * before an agent answered.
   */
  reofferToAgent(): Promise<string | undefined> {
    return this.run(async () => {
      const agent = this.agent;
      if (!agent || agent.kind !== 'browser') return undefined;
      return this.engine.offer({
        callId: this.callId,
        fromTag: this.patientTag,
        toTag: agent.tag,
        sdp: this.patientSdp,
        flags: flagsFor(WEBRTC, 'trunk'),
      });
    });
  }

  /** The tag of the connected agent's branch, if any. */
  get agentTag(): string | undefined {
    return this.agent?.tag;
  }

  /** Plays a file to the patient, replacing whatever played before. */
  playToPatient(file: string, repeatTimes: number): Promise<Playback> {
    return this.run(() => this.engine.playMedia({ callId: this.callId, fromTag: this.patientTag, file, repeatTimes }));
  }

  stopPlayback(): Promise<void> {
    return this.run(() => this.engine.stopMedia({ callId: this.callId, fromTag: this.patientTag }));
  }

  /**
   * A copy of the patient's audio to `address`:`port` (a recorder's UDP socket): rtpengine's `subscribe
   * request` and `subscribe answer`. Returns rtpengine's description of the copy (its codecs and
   * payload types) and the subscription's tag for `stopCopy`.
   */
  copyPatientTo(address: string, port: number): Promise<{ sdp: string; tag: string }> {
    return this.run(async () => {
      const { sdp, toTag } = await this.engine.subscribeRequest({ callId: this.callId, fromTag: this.patientTag });
      await this.engine.subscribeAnswer({ callId: this.callId, toTag, sdp: recorderSdp(sdp, address, port) });
      return { sdp, tag: toTag };
    });
  }

  /** Stops a copy `copyPatientTo` started. */
  stopCopy(tag: string): Promise<void> {
    return this.run(() => this.engine.unsubscribe({ callId: this.callId, toTag: tag }));
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
      if (isUnknownCall(err)) return;
      this.log.warn({ err }, 'could not delete the rtpengine session');
    }
  }

  /**
   * Offers the patient's new description towards their current peer and returns rtpengine's answer
   * for them. rtpengine answers with the direction of the peer's description, so the peer's answer
   * is given the direction RFC 3264 requires (recvonly to a patient who holds with sendonly).
   */
  private async renegotiate(patientSdp: string): Promise<string> {
    const peer = this.agent
      ? {
          tag: this.agent.tag,
          sdp: this.agent.sdp,
          flags: TOWARDS_WORKSTATION[this.agent.kind],
          source: this.agent.kind,
        }
      : { tag: QUEUE_TAG, sdp: this.queueSdp, flags: PLAIN_RTP, source: 'trunk' as const };
    const peerAnswer = withDirection(peer.sdp, answerDirection(patientSdp));
    await this.engine.offer({
      callId: this.callId,
      fromTag: this.patientTag,
      toTag: peer.tag,
      sdp: patientSdp,
      flags: flagsFor(peer.flags, 'trunk'),
    });
    const answer = await this.engine.answer({
      callId: this.callId,
      fromTag: this.patientTag,
      toTag: peer.tag,
      sdp: peerAnswer,
      flags: flagsFor(PLAIN_RTP, peer.source),
    });
    this.patientSdp = patientSdp;
    const now = mediaAddress(answer);
    if (now !== this.patientFacing)
      this.log.warn({ before: this.patientFacing, now }, "rtpengine moved the patient's media address");
    return answer;
  }

  /**
   * rtpengine's SDP for the patient, ready to send: WebRTC-only lines out, and our own o= line, whose
   * version grows only when the description changed (RFC 3264 §8). rtpengine's o= line is the
   * answering peer's, which is the placeholder at first and the agent's browser later.
   */
  private stampForPatient(sdp: string): string {
    const clean = stripWebRtcOnlyLines(sdp);
    const previous = this.sent.sdp;
    const unchanged = previous !== '' && withSdpOrigin(clean, 0, 0) === withSdpOrigin(previous, 0, 0);
    const version = unchanged ? this.sent.version : this.sent.version + 1;
    this.sent = { sessionId: this.sent.sessionId, version, sdp: withSdpOrigin(clean, this.sent.sessionId, version) };
    return this.sent.sdp;
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.destroyed) return Promise.reject(new MediaSessionClosedError('the media session is closed'));
    const result = this.inFlight.catch(() => undefined).then(operation);
    this.inFlight = result;
    return result;
  }
}
