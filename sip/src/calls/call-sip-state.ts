import { isDialogSnapshot, type DialogSnapshot } from '../sip/dialogs.js';
import type { MediaSnapshot } from '../media/media-session.js';
import { RedisKeys } from '@deskline/store';

/**
 * Hash `call-sip:<call id>`: what a sip app process needs to carry on with a call whose process
 * died (docs/call-path.md, "Restart survival"). Only the sip app reads it; each field is JSON.
 */
export const callSipKey = RedisKeys.callSip;

/**
 * Nothing of a call outlives Kamailio's dialog (`default_timeout`) or rtpengine's `final-timeout`,
 * both 12 h: the hash expires then, should nobody delete it.
 */
export const CALL_SIP_TTL_SECONDS = 12 * 60 * 60;

/** The INVITE that rings an agent's workstation, as sent: enough to CANCEL it from another process. */
export interface RingSnapshot {
  /** The agent's rtpengine branch. */
  tag: string;
  requestUri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
}

export interface CallSipState {
  /** The patient's dialog, once confirmed. */
  patient?: DialogSnapshot;
  /** The rtpengine session's tags and descriptions. */
  media?: MediaSnapshot;
  /** The INVITE to the agent's workstation while it rings. */
  ring?: RingSnapshot;
  /** The agent's dialog, once answered (bridged). */
  agent?: DialogSnapshot;
}

export type CallSipField = keyof CallSipState;

/** Fields to write, and fields to remove (a ring that ended), in one change. */
export interface CallSipChange {
  set?: CallSipState;
  remove?: CallSipField[];
}

/** Reads the hash as Redis returns it; a field that is damaged or of another shape is left out. */
export function callSipStateFromHash(hash: Record<string, string>): CallSipState {
  const state: CallSipState = {};
  const patient = parse(hash['patient']);
  if (isDialogSnapshot(patient)) state.patient = patient;
  const agent = parse(hash['agent']);
  if (isDialogSnapshot(agent)) state.agent = agent;
  const media = parse(hash['media']);
  if (isMediaSnapshot(media)) state.media = media;
  const ring = parse(hash['ring']);
  if (isRingSnapshot(ring)) state.ring = ring;
  return state;
}

export function callSipStateToHash(state: CallSipState): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [field, value] of Object.entries(state)) if (value !== undefined) hash[field] = JSON.stringify(value);
  return hash;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isMediaSnapshot(value: unknown): value is MediaSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const sent = v['sentToPatient'] as Record<string, unknown> | null | undefined;
  const agent = v['agent'] as Record<string, unknown> | null | undefined;
  return (
    typeof v['patientTag'] === 'string' &&
    typeof v['patientSdp'] === 'string' &&
    typeof v['queueSdp'] === 'string' &&
    typeof sent === 'object' &&
    sent !== null &&
    typeof sent['sessionId'] === 'number' &&
    typeof sent['version'] === 'number' &&
    typeof sent['sdp'] === 'string' &&
    (agent === undefined ||
      (typeof agent === 'object' &&
        agent !== null &&
        typeof agent['tag'] === 'string' &&
        typeof agent['sdp'] === 'string'))
  );
}

function isRingSnapshot(value: unknown): value is RingSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ['tag', 'requestUri', 'via', 'from', 'to', 'callId'].every((key) => typeof v[key] === 'string') &&
    typeof v['cseq'] === 'number'
  );
}
