/**
 * SDP text helpers. The sip app never parses SDP into a model: rtpengine writes every SDP that leaves
 * it, and these only adjust what rtpengine 10.5 gets wrong for plain SIP peers.
 */

/**
 * Attributes that only WebRTC understands. rtpengine 10.5 keeps them in the SDP it writes for the
 * plain side; some PBXs reject an answer that carries them.
 */
const WEBRTC_ONLY_ATTRIBUTES = [
  'msid',
  'msid-semantic',
  'ssrc',
  'ssrc-group',
  'mid',
  'rtcp-fb',
  'extmap',
  'extmap-allow-mixed',
];

/** Removes WebRTC-only attribute lines; keeps every other line and the CRLF line ends SDP requires. */
export function stripWebRtcOnlyLines(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((line) => {
    const match = /^a=([A-Za-z0-9-]+)(?::|$)/.exec(line);
    return !match || !WEBRTC_ONLY_ATTRIBUTES.includes((match[1] ?? '').toLowerCase());
  });
  return kept.join('\r\n');
}

/**
 * The queue's side of a waiting call: rtpengine needs an answer before it will play media to the
 * patient. Port 9 (discard) on loopback, because nothing listens; `sendrecv`, not `inactive`, or
 * rtpengine plays nothing.
 */
export function placeholderSdp(sessionId: number): string {
  return [
    'v=0',
    `o=- ${sessionId} 1 IN IP4 127.0.0.1`,
    's=deskline-queue',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 9 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/**
 * "address:port" of the first audio stream (its own `c=` line, or the session's), or undefined when
 * there is none. For noticing a moved media address, not for routing packets.
 */
export function mediaAddress(sdp: string): string | undefined {
  const lines = sdp.split(/\r?\n/);
  const start = lines.findIndex((line) => line.startsWith('m=audio '));
  if (start === -1) return undefined;
  const port = lines[start]?.split(' ')[1] ?? '';
  const after = lines.slice(start + 1);
  const next = after.findIndex((line) => line.startsWith('m='));
  const connection = (section: string[]): string | undefined =>
    section.map((line) => /^c=IN IP[46] (\S+)/.exec(line)?.[1]).find((address) => address !== undefined);
  const address = connection(next === -1 ? after : after.slice(0, next)) ?? connection(lines.slice(0, start));
  return `${address ?? ''}:${port}`;
}

/**
 * The o= line's username, session id, version and address: two descriptions with the same origin
 * are the same version of the session (RFC 3264 §8: a changed description gets a higher version).
 * Undefined when there is no o= line.
 */
export function sdpOrigin(sdp: string): string | undefined {
  const match = /^o=(\S+) (\S+) (\S+) \S+ \S+ (\S+)[ \t]*(?=\r?$)/m.exec(sdp);
  return match ? `${match[1]} ${match[2]} ${match[3]} ${match[4]}` : undefined;
}

/** True when both descriptions carry the same origin: the peer offers what it offered before. */
export function sameSdpVersion(a: string, b: string): boolean {
  const origin = sdpOrigin(a);
  return origin !== undefined && origin === sdpOrigin(b);
}

/**
 * The description with our o= line: username "-", the session id and version given, the network
 * address kept (rtpengine writes its own there).
 */
export function withSdpOrigin(sdp: string, sessionId: number, version: number): string {
  return sdp.replace(
    /^o=\S+ \S+ \S+ (\S+ \S+ \S+)[ \t]*(?=\r?$)/m,
    (_line, rest: string) => `o=- ${sessionId} ${version} ${rest}`,
  );
}

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

const DIRECTION_LINE = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/;

/**
 * The direction an answer must give the first audio stream of `offer` (RFC 3264 §6.1): recvonly to
 * sendonly (the patient put us on hold), sendonly to recvonly, inactive to inactive, else sendrecv.
 */
export function answerDirection(offer: string): SdpDirection {
  const lines = offer.split(/\r?\n/);
  const audio = lines.findIndex((line) => line.startsWith('m=audio '));
  const direction = (section: string[]): SdpDirection | undefined =>
    section.map((line) => DIRECTION_LINE.exec(line)?.[1] as SdpDirection | undefined).find((d) => d !== undefined);
  const next = audio === -1 ? -1 : lines.findIndex((line, index) => index > audio && line.startsWith('m='));
  const media = audio === -1 ? [] : lines.slice(audio + 1, next === -1 ? lines.length : next);
  const session = lines.slice(0, audio === -1 ? lines.length : audio);
  const offered = direction(media) ?? direction(session) ?? 'sendrecv';
  return offered === 'sendonly' ? 'recvonly' : offered === 'recvonly' ? 'sendonly' : offered;
}

/** The description with one direction attribute, `direction`, at the end of each m= section (and none at session level). */
export function withDirection(sdp: string, direction: SdpDirection): string {
  const lines = sdp.split(/\r?\n/).filter((line) => !DIRECTION_LINE.test(line));
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  const out: string[] = [];
  let inMedia = false;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inMedia) out.push(`a=${direction}`);
      inMedia = true;
    }
    out.push(line);
  }
  if (inMedia) out.push(`a=${direction}`);
  if (trailing !== undefined) out.push(trailing);
  return out.join('\r\n');
}

/** A DTLS role as SDP's `a=setup` says it (RFC 4145, RFC 8842). */
export type DtlsSetup = 'active' | 'passive' | 'actpass';

const SETUP_LINE = /^a=setup:(active|passive|actpass)\s*$/m;

/** The description's first `a=setup` value, if any. */
export function dtlsSetup(sdp: string): DtlsSetup | undefined {
  return SETUP_LINE.exec(sdp)?.[1] as DtlsSetup | undefined;
}

/**
 * The codecs a patient's audio can be carried in: the hold music is played in them, and every
 * workstation speaks them (browsers and desk phones alike). rtpengine 10.5's codec library could
 * transcode others (G.722 among them), but the sip app does not ask it to: an offer without one of
 * these is refused (pbx-config/TRUNKS.md, "Codecs").
 */
const CARRIED_CODECS = ['pcmu/8000', 'pcma/8000'];
/** Their static RTP payload types (RFC 3551), usable without an rtpmap line. */
const CARRIED_PAYLOAD_TYPES: Readonly<Record<string, string>> = { '0': 'pcmu/8000', '8': 'pcma/8000' };

/** What besides the voice codecs a patient's stream keeps: keypresses (RFC 4733) at their clock rate. */
const KEPT_EVENTS = ['telephone-event/8000'];

/**
 * The description with its audio streams narrowed to the codecs the call carries (`CARRIED_CODECS`)
 * and telephone-event/8000, and the rtpmap, fmtp and rtcp-fb lines of every other format removed.
 * rtpengine keeps whatever a patient offered as something it may send that patient: given a whole
 * list (Opus, G.722, Speex, …, PCMU) it would later pass a browser's Opus, or transcode to G.722,
 * towards a patient whose 200 said PCMU and PCMA only, who then hears nothing. Streams without any
 * carried codec, and other media, are left as they are (`carriesAudio` refuses the former).
 */
export function onlyCarriedCodecs(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  let dropped = new Set<string>();
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.startsWith('m=')) {
      dropped = new Set();
      const media = /^(m=audio \d+(?:\/\d+)? \S+) (.*)$/.exec(line);
      if (media?.[1] !== undefined && media[2] !== undefined) {
        const formats = media[2].split(' ').filter(Boolean);
        const rtpmap = new Map<string, string>();
        for (let next = index + 1; next < lines.length && !(lines[next] ?? '').startsWith('m='); next++) {
          const map = /^a=rtpmap:(\d{1,3}) ([^/\s]+\/\d+)/.exec(lines[next] ?? '');
          if (map?.[1] !== undefined && map[2] !== undefined) rtpmap.set(map[1], map[2].toLowerCase());
        }
        const codecOf = (format: string): string | undefined => rtpmap.get(format) ?? CARRIED_PAYLOAD_TYPES[format];
        const kept = formats.filter((format) => {
          const codec = codecOf(format);
          return codec !== undefined && (CARRIED_CODECS.includes(codec) || KEPT_EVENTS.includes(codec));
        });
        if (kept.some((format) => CARRIED_CODECS.includes(codecOf(format) ?? ''))) {
          const keptSet = new Set(kept);
          for (const format of formats) if (!keptSet.has(format)) dropped.add(format);
          out.push(`${media[1]} ${kept.join(' ')}`);
          continue;
        }
      }
    }
    const attribute = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d{1,3})[\s]/.exec(line);
    if (attribute?.[1] !== undefined && dropped.has(attribute[1])) continue;
    out.push(line);
  }
  return out.join('\r\n');
}

/**
 * True when the description has an audio stream (a port other than 0) with PCMU or PCMA among its
 * formats. telephone-event or comfort noise alone carry no voice.
 */
export function carriesAudio(sdp: string): boolean {
  // One pass over the lines, one rtpmap table per stream: linear in the SDP's length.
  const streams: Array<{ formats: string[]; rtpmap: Map<string, string> }> = [];
  let current: { formats: string[]; rtpmap: Map<string, string> } | undefined;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const media = /^m=audio (\d+)(?:\/\d+)? \S+ (.*)$/.exec(line);
      // Only numeric formats are RTP payload types; anything else in the line is no codec of ours.
      current =
        media && Number(media[1]) !== 0
          ? { formats: (media[2] ?? '').split(' ').filter((f) => /^\d{1,3}$/.test(f)), rtpmap: new Map() }
          : undefined;
      if (current) streams.push(current);
      continue;
    }
    const rtpmap = current && /^a=rtpmap:(\d{1,3}) ([^/\s]+\/\d+)/.exec(line);
    if (current && rtpmap?.[1] !== undefined && rtpmap[2] !== undefined)
      current.rtpmap.set(rtpmap[1], rtpmap[2].toLowerCase());
  }
  return streams.some(({ formats, rtpmap }) =>
    formats.some((format) => {
      const codec = rtpmap.get(format) ?? CARRIED_PAYLOAD_TYPES[format];
      return codec !== undefined && CARRIED_CODECS.includes(codec);
    }),
  );
}
