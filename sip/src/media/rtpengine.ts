import { NgError, type NgClient, type NgReply } from './ng-client.js';
import type { FlagSet } from './flags.js';

export interface OfferAnswer {
  /** rtpengine's call id: the B2BUA's call id, shared by every leg of one patient's call. */
  callId: string;
  fromTag: string;
  sdp: string;
  flags: FlagSet;
}

export interface Participant {
  callId: string;
  /** Selects the participant the command applies to (for `play media`: who hears it). */
  fromTag: string;
}

export interface Playback {
  /** Length of the file in ms, when rtpengine could tell (it reads the file's header). */
  durationMs: number | undefined;
}

/** rtpengine's ng commands, typed. Each one is a single request through the NgClient. */
export class RtpEngine {
  constructor(private readonly ng: NgClient) {}

  async ping(): Promise<void> {
    await this.ng.request('ping');
  }

  /**
   * When this rtpengine started (ms since the epoch, to within a second): now minus the uptime its
   * `statistics` tell. One attempt of `timeoutMs`: it is a probe, asked again on its next turn.
   */
  async startedAt(timeoutMs: number): Promise<number> {
    const reply = await this.ng.request('statistics', {}, { attempts: 1, timeoutMs });
    const statistics = reply['statistics'];
    const totals = isRecord(statistics) ? statistics['totalstatistics'] : undefined;
    const uptime = isRecord(totals) ? Number(totals['uptime']) : Number.NaN;
    if (!Number.isFinite(uptime) || uptime < 0) throw new NgError('statistics', 'the reply tells no uptime');
    return Date.now() - uptime * 1000;
  }

  /**
   * Whether rtpengine holds the call `callId`: false when it answers, twice `recheckMs` apart, that
   * the call-id is unknown (the second time in case a restarted rtpengine answered before it had
   * read all its calls back from Redis).
   */
  async holds(callId: string, recheckMs = 1_000): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.query(callId);
        return true;
      } catch (err) {
        if (!isUnknownCall(err)) throw err;
        if (attempt > 0) return false;
      }
      await new Promise((resolve) => setTimeout(resolve, recheckMs));
    }
  }

  /**
   * Returns the SDP to send to the other side. With `toTag`, the offer opens a new branch towards
   * that tag (an agent's leg) and leaves the existing ones as they are; without it, rtpengine offers
   * to the party the call already has, and would rewrite that leg.
   */
  async offer(request: OfferAnswer & { toTag?: string }): Promise<string> {
    const reply = await this.ng.request('offer', {
      ...request.flags,
      'call-id': request.callId,
      'from-tag': request.fromTag,
      'to-tag': request.toTag,
      sdp: request.sdp,
    });
    return sdpOf('offer', reply);
  }

  /** Returns the SDP to send back to the offerer (`fromTag`). */
  async answer(request: OfferAnswer & { toTag: string }): Promise<string> {
    const reply = await this.ng.request('answer', {
      ...request.flags,
      'call-id': request.callId,
      'from-tag': request.fromTag,
      'to-tag': request.toTag,
      sdp: request.sdp,
    });
    return sdpOf('answer', reply);
  }

  /**
   * Deletes the call with every leg of it, at once: rtpengine would otherwise keep a deleted call
   * for its `delete-delay` (30 s).
   */
  async delete(request: Participant): Promise<void> {
    await this.ng.request('delete', { 'call-id': request.callId, 'from-tag': request.fromTag, 'delete delay': 0 });
  }

  /**
   * Deletes one branch (`toTag`) of a call and frees its ports; the call and its other legs stay. In
   * rtpengine 10.5 this also stops what `play media` was playing to `fromTag`.
   */
  async deleteBranch(request: Participant & { toTag: string }): Promise<void> {
    await this.ng.request('delete', {
      'call-id': request.callId,
      'from-tag': request.fromTag,
      'to-tag': request.toTag,
      'delete delay': 0,
    });
  }

  /** Deletes a call knowing only its id (one this process did not set up: a crashed instance's). */
  async deleteCall(callId: string): Promise<void> {
    await this.ng.request('delete', { 'call-id': callId, 'delete delay': 0 });
  }

  async playMedia(request: Participant & { file: string; repeatTimes: number }): Promise<Playback> {
    const reply = await this.ng.request('play media', {
      'call-id': request.callId,
      'from-tag': request.fromTag,
      file: request.file,
      'repeat-times': request.repeatTimes,
    });
    const duration = reply['duration'];
    return { durationMs: typeof duration === 'number' && duration > 0 ? duration : undefined };
  }

  async stopMedia(request: Participant): Promise<void> {
    await this.ng.request('stop media', { 'call-id': request.callId, 'from-tag': request.fromTag });
  }

  /**
   * A copy of what `fromTag` sends, to a new subscriber (media forking, rtpengine's `subscribe
   * request`): returns rtpengine's offer for the subscriber (sendonly, the tag's codecs) and the
   * subscription's to-tag. The call's legs are left as they are. The recorder of voicemail (and of
   * call recordings, issue 18) is such a subscriber: docs/architecture.md, "Recordings and voicemail".
   */
  async subscribeRequest(request: Participant): Promise<{ sdp: string; toTag: string }> {
    const reply = await this.ng.request('subscribe request', {
      'call-id': request.callId,
      'from-tag': request.fromTag,
      'transport-protocol': 'RTP/AVP',
      ICE: 'remove',
      DTLS: 'off',
      SDES: ['off'],
      'rtcp-mux': ['demux'],
    });
    const toTag = reply['to-tag'];
    if (typeof toTag !== 'string' || toTag === '') throw new NgError('subscribe request', 'the reply has no to-tag');
    return { sdp: sdpOf('subscribe request', reply), toTag };
  }

  /** The subscriber's answer (where the copy goes): from then on rtpengine sends it there. */
  async subscribeAnswer(request: { callId: string; toTag: string; sdp: string }): Promise<void> {
    await this.ng.request('subscribe answer', {
      'call-id': request.callId,
      'to-tag': request.toTag,
      sdp: request.sdp,
      flags: ['strict source', 'endpoint-learning-off'],
    });
  }

  /** Ends a subscription (`subscribeRequest`'s to-tag): rtpengine stops sending the copy. */
  async unsubscribe(request: { callId: string; toTag: string }): Promise<void> {
    await this.ng.request('unsubscribe', { 'call-id': request.callId, 'to-tag': request.toTag });
  }

  /** The call ids rtpengine currently holds. */
  async list(limit = 1000): Promise<string[]> {
    const reply = await this.ng.request('list', { limit });
    const calls = reply['calls'];
    return Array.isArray(calls) ? calls.filter((id): id is string => typeof id === 'string') : [];
  }

  async query(callId: string): Promise<NgReply> {
    return this.ng.request('query', { 'call-id': callId });
  }
}

function sdpOf(command: string, reply: NgReply): string {
  const sdp = reply['sdp'];
  if (typeof sdp !== 'string' || sdp === '') throw new Error(`rtpengine ${command} replied without an SDP`);
  return sdp;
}

/** rtpengine's answer to a command about a call it does not hold ("Unknown call-id"). */
export function isUnknownCall(err: unknown): boolean {
  return err instanceof NgError && !err.timedOut && /unknown call/i.test(err.reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
