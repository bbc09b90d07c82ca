import { CALL_STATES, type CallState, type CallView } from '@deskline/protocol';

/** The call hash's field naming the sip app instance that holds the call's SIP dialogs. */
export const OWNER_FIELD = 'owner';

const NUMBER_FIELDS = ['startedAt', 'queuedAt', 'answeredAt', 'endedAt'] as const;
const TEXT_FIELDS = ['agentUserId', 'workstationId', 'voicemailId'] as const;

/** A CallView as the flat string fields of a Redis hash (absent optionals are left out). */
export function callToHash(call: CallView): Record<string, string> {
  const hash: Record<string, string> = { id: call.id, from: call.from, line: call.line, state: call.state };
  for (const key of NUMBER_FIELDS) if (call[key] !== undefined) hash[key] = String(call[key]);
  for (const key of TEXT_FIELDS) if (call[key] !== undefined) hash[key] = String(call[key]);
  if (call.abandonedIn !== undefined) hash['abandonedIn'] = call.abandonedIn;
  return hash;
}

/** Reads a call hash back; undefined when it is missing or damaged. */
export function callFromHash(hash: Record<string, string> | null | undefined): CallView | undefined {
  if (!hash?.['id'] || hash['from'] === undefined || !hash['line']) return undefined;
  const state = hash['state'];
  if (!(CALL_STATES as readonly string[]).includes(state ?? '')) return undefined;
  const startedAt = Number(hash['startedAt']);
  if (!Number.isFinite(startedAt)) return undefined;
  const call: CallView = {
    id: hash['id'],
    from: hash['from'],
    line: hash['line'],
    state: state as CallState,
    startedAt,
  };
  for (const key of NUMBER_FIELDS) {
    const value = hash[key];
    if (key !== 'startedAt' && value !== undefined && Number.isFinite(Number(value))) call[key] = Number(value);
  }
  for (const key of TEXT_FIELDS) if (hash[key]) call[key] = hash[key];
  const abandonedIn = hash['abandonedIn'];
  if (abandonedIn && (CALL_STATES as readonly string[]).includes(abandonedIn))
    call.abandonedIn = abandonedIn as CallState;
  return call;
}
