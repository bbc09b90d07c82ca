import type { RtpEngine } from './rtpengine.js';

/**
 * How many RTP packets rtpengine has received from one side (`tag`) of the call `callId` and
 * accepted, from `query`; undefined when the reply does not say. A patient's call asks it for the patient's tag
 * (MediaSession.packetsFromPatient), a callback for the trunk's To tag (the patient's side).
 */
export async function packetsFromTag(engine: RtpEngine, callId: string, tag: string): Promise<number | undefined> {
  const reply = await engine.query(callId);
  const tags = reply['tags'];
  const side = isRecord(tags) ? tags[tag] : undefined;
  const medias = isRecord(side) ? side['medias'] : undefined;
  if (!Array.isArray(medias)) return undefined;
  let packets: number | undefined;
  for (const media of medias) {
    const streams = isRecord(media) ? media['streams'] : undefined;
    for (const stream of Array.isArray(streams) ? streams : []) {
      if (!isRecord(stream) || !Array.isArray(stream['flags']) || !stream['flags'].includes('RTP')) continue;
      const stats = stream['stats'];
      const count = isRecord(stats) ? stats['packets'] : undefined;
      // rtpengine counts a packet it then drops (from a source `strict source` refuses) in `packets`
      // and in `errors`: those are not the peer's, and must not keep a silent line alive.
      const dropped = isRecord(stats) && typeof stats['errors'] === 'number' ? stats['errors'] : 0;
      if (typeof count === 'number') packets = (packets ?? 0) + Math.max(0, count - dropped);
    }
  }
  return packets;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
