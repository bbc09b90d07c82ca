import {
  Grammar,
  NameAddrHeader,
  SessionDialog,
  type DialogState,
  type IncomingRequestMessage,
  type InviteServerTransaction,
  type OutgoingRequestDelegate,
  type Session,
  type SessionDelegate,
  type URI,
  type UserAgentCore,
} from 'sip.js/lib/core/index.js';

/**
 * What the sip app does with SIP.js's dialogs beyond SIP.js's own `Session` interface: write a
 * confirmed dialog down, build it again in another process, send a request of our choice in it,
 * and take in a request SIP.js's SessionDialog does not know (UPDATE). Every use of SIP.js's
 * internals is in this file.
 */

/**
 * A confirmed dialog's state (RFC 3261 §12), as JSON: enough for another process to go on with it.
 * The URIs are in their text form; CSeq numbers are null while none has been used.
 */
export interface DialogSnapshot {
  callId: string;
  localTag: string;
  remoteTag: string;
  localSequenceNumber: number | null;
  remoteSequenceNumber: number | null;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  /** In the order requests take it (the Route headers of our requests). */
  routeSet: string[];
}

/** SIP.js keeps a dialog's state protected; these are the parts this file touches. */
interface DialogInternals {
  dialogState: DialogState;
  sequenceGuard(message: IncomingRequestMessage): boolean;
}

export function asSessionDialog(session: Session): SessionDialog {
  if (!(session instanceof SessionDialog)) throw new Error('not a SIP.js SessionDialog');
  return session;
}

export function snapshotDialog(session: Session): DialogSnapshot {
  const dialog = asSessionDialog(session);
  return {
    callId: dialog.callId,
    localTag: dialog.localTag,
    remoteTag: dialog.remoteTag,
    localSequenceNumber: dialog.localSequenceNumber ?? null,
    remoteSequenceNumber: dialog.remoteSequenceNumber ?? null,
    localUri: dialog.localURI.toString(),
    remoteUri: dialog.remoteURI.toString(),
    remoteTarget: dialog.remoteTarget.toString(),
    routeSet: [...dialog.routeSet],
  };
}

/** True when the text is a usable snapshot (it comes from Redis, which anyone could have written). */
export function isDialogSnapshot(value: unknown): value is DialogSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const text = (key: string): boolean => typeof v[key] === 'string' && v[key] !== '';
  const cseq = (key: string): boolean => v[key] === null || (typeof v[key] === 'number' && Number.isInteger(v[key]));
  return (
    ['callId', 'localTag', 'remoteTag', 'localUri', 'remoteUri', 'remoteTarget'].every(text) &&
    cseq('localSequenceNumber') &&
    cseq('remoteSequenceNumber') &&
    Array.isArray(v['routeSet']) &&
    v['routeSet'].every((route) => typeof route === 'string')
  );
}

/**
 * Builds a confirmed dialog again from its snapshot, in this process's core: in-dialog requests for
 * it (BYE, re-INVITE, ACK) reach `delegate` from then on, as for a dialog this process set up.
 *
 * Why a SIP.js SessionDialog and not requests handled by hand: the re-INVITE, BYE, CSeq and
 * offer/answer rules are then the very code that serves the dialogs this process created, with the
 * same delegate. SIP.js builds a SessionDialog from the INVITE transaction that created it, and a
 * restored dialog has none. The stand-in below is neither an InviteServerTransaction nor an
 * InviteClientTransaction, which is what SessionDialog checks (instanceof) to wait for the first
 * ACK, retransmit the first 2xx or refuse an early BYE; a confirmed dialog needs none of those. Its
 * empty `request` has no body, so the offer/answer state starts empty and the next re-INVITE or
 * UPDATE starts a new exchange.
 *
 * Our CSeq skips one number: the process that wrote the snapshot may have sent one more request
 * before it died, whose number never reached Redis, and the peer must see it grow (RFC 3261 §12.2.2
 * lets it jump).
 */
export function restoreSessionDialog(
  core: UserAgentCore,
  snapshot: DialogSnapshot,
  delegate?: SessionDelegate,
): Session {
  const state: DialogState = {
    id: snapshot.callId + snapshot.localTag + snapshot.remoteTag,
    early: false,
    callId: snapshot.callId,
    localTag: snapshot.localTag,
    remoteTag: snapshot.remoteTag,
    localSequenceNumber: (snapshot.localSequenceNumber ?? 0) + 1,
    remoteSequenceNumber: snapshot.remoteSequenceNumber ?? undefined,
    localURI: parseUri(snapshot.localUri),
    remoteURI: parseUri(snapshot.remoteUri),
    remoteTarget: parseUri(snapshot.remoteTarget),
    routeSet: [...snapshot.routeSet],
    secure: false,
  };
  const noTransaction = { request: {} } as unknown as InviteServerTransaction;
  return new SessionDialog(noTransaction, core, state, delegate);
}

/**
 * Sends a request that changes nothing (OPTIONS) in the dialog, as its own non-INVITE transaction.
 * The answer, a timeout (408) or a transport error (503, without headers) reaches `delegate`.
 */
export function requestInDialog(
  core: UserAgentCore,
  session: Session,
  method: string,
  delegate: OutgoingRequestDelegate,
): void {
  const message = asSessionDialog(session).createOutgoingRequestMessage(method);
  core.request(message, delegate);
}

/**
 * Takes in a request for the dialog that SIP.js's SessionDialog does not handle itself (UPDATE,
 * which it answers 501): the CSeq checks and update of RFC 3261 §12.2.2, and the remote target from
 * the Contact, UPDATE being a target refresh request (RFC 3311 §5.2). False when the request is out
 * of order; it has then been answered 500.
 */
export function admitInDialogRequest(session: Session, message: IncomingRequestMessage): boolean {
  const dialog = asSessionDialog(session);
  const internals = dialog as unknown as DialogInternals;
  if (!internals.sequenceGuard(message)) return false;
  internals.dialogState.remoteSequenceNumber = message.cseq;
  const contact = message.parseHeader('contact') as unknown;
  if (contact instanceof NameAddrHeader) internals.dialogState.remoteTarget = contact.uri;
  return true;
}

/** A transport error or a timeout reported by SIP.js itself carries no headers; a real response has a Via. */
export function isLocalFailure(response: { hasHeader(name: string): boolean }): boolean {
  return !response.hasHeader('via');
}

function parseUri(text: string): URI {
  const uri = Grammar.URIParse(text);
  if (!uri) throw new Error(`not a valid SIP URI: ${text}`);
  return uri;
}
