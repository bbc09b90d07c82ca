import type { WorkstationKind } from '@deskline/protocol';
import type { EncodableDict } from './bencode.js';

/**
 * rtpengine flag sets, one per kind of peer, as measured in the shared architecture notes. Call code
 * names the set for the side an SDP goes *to*; it never spells flags out itself.
 */
export type FlagSet = EncodableDict;

/**
 * Towards a plain RTP peer: the patient's trunk or PBX, and the queue's placeholder leg. `port
 * latching` keeps rtpengine's port for the patient when the patient's own port moves.
 */
export const PLAIN_RTP = {
  'transport-protocol': 'RTP/AVP',
  ICE: 'remove',
  DTLS: 'off',
  SDES: ['off'],
  'rtcp-mux': ['demux'],
  flags: ['strip extmap', 'port latching'],
  replace: ['origin', 'session-connection'],
} as const satisfies FlagSet;

/**
 * Towards a browser workstation (used when an agent is connected). No forced `DTLS: passive`:
 * answering a browser with it fails the DTLS handshake.
 */
export const WEBRTC = {
  'transport-protocol': 'UDP/TLS/RTP/SAVPF',
  ICE: 'force',
  'rtcp-mux': ['require'],
  flags: ['port latching'],
  replace: ['origin', 'session-connection'],
} as const satisfies FlagSet;

/**
 * The set for the offer to an agent's workstation, by its kind: a browser speaks WebRTC; a desk phone
 * is a plain RTP peer (RTP/AVP with the patient's PCMU/PCMA, no ICE, no DTLS), like the trunk.
 */
export const TOWARDS_WORKSTATION: Readonly<Record<WorkstationKind, FlagSet>> = {
  browser: WEBRTC,
  'sip-phone': PLAIN_RTP,
};

/** Who an SDP comes from: the patient's trunk or PBX (and the queue's placeholder), or a workstation. */
export type SdpSource = 'trunk' | WorkstationKind;

/**
 * Who may send media into a call, by the peer an SDP comes *from*: rtpengine applies these to the
 * streams of the SDP a command carries (the offerer's in an offer, the answerer's in an answer), and
 * a command without them clears them on that side, so every offer and answer names its SDP's source.
 * - A plain RTP peer (trunk, PBX, desk phone, the placeholder): `strict source` drops every packet
 *   that does not come from the address and port of its SDP, and `endpoint-learning-off` makes that
 *   SDP address the only one, from the first packet on. rtpengine 10.5 otherwise learns the address
 *   from the packets of the first 3 s after each offer or answer, forwarding whatever arrives
 *   meanwhile and latching on to whoever sends first after it: a third party on the network could
 *   speak into the call or take it over. The cost: a plain RTP peer must send from where its SDP
 *   says (symmetric RTP, RFC 4961, as trunks and LAN phones do); one behind NAT that advertises a
 *   private address needs an SBC or PBX in front. docs/security.md, "Media".
 * - A browser: ICE's connectivity checks decide where its media comes from; its SDP's address is
 *   not where its packets come from (a server-reflexive or relayed candidate), so no check here.
 */
const SOURCE_CHECKS: Readonly<Record<SdpSource, FlagSet>> = {
  // In the flags list: Debian's rtpengine 10.5.3.5 ignores the `endpoint-learning` key (measured).
  trunk: { flags: ['strict source', 'endpoint-learning-off'] },
  'sip-phone': { flags: ['strict source', 'endpoint-learning-off'] },
  browser: {},
};

/** `towards` (the set for the side the SDP goes to) with the source checks for the side it comes from. */
export function flagsFor(towards: FlagSet, from: SdpSource): FlagSet {
  const checks = SOURCE_CHECKS[from];
  const flags = [...listOf(towards['flags']), ...listOf(checks['flags'])];
  return { ...towards, ...checks, ...(flags.length > 0 ? { flags } : {}) };
}

function listOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
