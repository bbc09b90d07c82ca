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
