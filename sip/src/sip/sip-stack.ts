import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  Grammar,
  IncomingRequestMessage,
  IncomingResponseMessage,
  LoggerFactory,
  NonInviteServerTransaction,
  Parser,
  URI,
  UserAgentCore,
  UserAgentServer,
  type IncomingInviteRequest,
  type IncomingRequest,
  type OutgoingInviteRequest,
  type OutgoingInviteRequestDelegate,
  type OutgoingRequestDelegate,
  type Session,
  type SessionDelegate,
  type Transport,
  type UserAgentCoreConfiguration,
} from 'sip.js/lib/core/index.js';
import { E164_NUMBER_PATTERN } from '@deskline/protocol';
import { AllowedMethods } from 'sip.js/lib/core/user-agent-core/allowed-methods.js';
import { admitInDialogRequest, requestInDialog, restoreSessionDialog, type DialogSnapshot } from './dialogs.js';
import type { RingSnapshot } from '../calls/call-sip-state.js';
import { KamailioConnection } from './kamailio-connection.js';
import { StaleInvites } from './stale-invites.js';

// The methods the core accepts, and which every 2xx to an INVITE lists in Allow. UPDATE (RFC 3311)
// is not among SIP.js's: the stack answers it itself (`handToCore`), and a trunk only refreshes a
// session with UPDATE when our Allow names it.
if (!AllowedMethods.includes('UPDATE')) AllowedMethods.push('UPDATE');

export interface SipStackOptions {
  sipDomain: string;
  kamailioHost: string;
  kamailioPort: number;
  appHost: string;
  appPort: number;
  logger: Logger;
  /** Every new INVITE. Runs inside the core's dispatch: start async work, do not throw. */
  onInvite(request: IncomingInviteRequest): void;
  /** Connected to Kamailio (again): requests can go out from now on. */
  onConnected?(): void;
}

/** An INVITE that rings a workstation through Kamailio (docs/call-path.md, "SIP identities"). */
export interface WorkstationInvite {
  /** The SIP user to ring, e.g. ws-<workstationId>; the Request-URI is sip:<user>@SIP_DOMAIN. */
  user: string;
  /** The patient's number, shown as the caller: From's user part, and its display name when there is no `callerName`. */
  callerNumber: string;
  /** The patient's name from the clinic's contacts: From's display name (docs/call-path.md, "SIP identities"). */
  callerName?: string;
  /** The SDP offer for the workstation. */
  sdp: string;
  /** Whole header lines ("Name: value") to add. */
  extraHeaders: string[];
}

/** An INVITE that calls a patient back through the outbound trunk (docs/call-board.md, "Callbacks"). */
export interface TrunkInvite {
  /** The patient's number in E.164: the Request-URI user. */
  number: string;
  /** The INVITE's Call-ID, under which the sip app authorized it in Redis for Kamailio (docs/security.md). */
  callId: string;
  /** host:port of the trunk (OUTBOUND_TRUNK): the Request-URI's host, which Kamailio relays to. */
  trunk: string;
  /** The clinic's number the patient sees: From's user part. */
  callerId: string;
  /** The SDP offer for the trunk. */
  sdp: string;
}

/** What a callback needs of the SIP stack to call the patient. */
export interface TrunkDialer {
  callOut(invite: TrunkInvite, delegate: OutgoingInviteRequestDelegate): OutgoingInviteRequest;
}

/** What a call needs of the SIP stack to ring a workstation. */
export interface Dialer {
  invite(invite: WorkstationInvite, delegate: OutgoingInviteRequestDelegate): OutgoingInviteRequest;
}

/** What a call needs of the SIP stack inside a dialog it holds, beyond SIP.js's `Session`. */
export interface DialogServices {
  /** Connected to Kamailio: a request sent now can reach the peer. */
  readonly connected: boolean;
  /** Our Contact header line ("Contact: <…>"), for 2xx responses to target refresh requests. */
  readonly contactHeader: string;
  /** Sends OPTIONS in the dialog; the answer, a timeout (408) or a transport error (503) reach `delegate`. Throws when it cannot. */
  ping(session: Session, delegate: OutgoingRequestDelegate): void;
  /** Hands the dialog's UPDATE requests (checked for order already) to `handler` until the returned function is called. */
  handleUpdates(session: Session, handler: (update: IncomingRequest) => void): () => void;
  /** Builds a dialog another process confirmed (see `restoreSessionDialog`). */
  restoreDialog(snapshot: DialogSnapshot, delegate?: SessionDelegate): Session;
}

/** Every request a proxy or UA must carry (RFC 3261 §8.1.1); the core assumes they exist. */
const MANDATORY_HEADERS = ['from', 'to', 'call-id', 'cseq', 'via'];

/** The longest part of a bad message that is logged. */
const LOGGED_PREFIX = 200;

/**
 * SIP.js's RFC 3261 core (transactions and dialogs) on top of the Kamailio connection. Every message
 * is parsed and handed to the core inside a guard: a message the core cannot handle is logged and
 * dropped, and the process carries on.
 */
export class SipStack implements Dialer, TrunkDialer, DialogServices {
  readonly core: UserAgentCore;
  private readonly connection: KamailioConnection;
  private readonly ownAor: URI;
  private readonly kamailioUri: URI;
  private readonly parserLogger;
  /** Requests that arrived over the Kamailio connection, for the INVITE chain's first check. */
  private readonly fromKamailio = new WeakSet<IncomingRequestMessage>();
  private readonly staleInvites: StaleInvites;
  /** CANCELs of stale rings asked for before the connection was up (an adoption at start). */
  private pendingCancels: RingSnapshot[] = [];
  /** Dialog id -> the dialog and who takes its UPDATEs. */
  private readonly updateHandlers = new Map<string, { session: Session; handler: (update: IncomingRequest) => void }>();

  constructor(private readonly options: SipStackOptions) {
    const log = options.logger;
    this.ownAor = parseUri(`sip:queue@${options.sipDomain}`);
    this.kamailioUri = parseUri(`sip:${options.kamailioHost}:${options.kamailioPort};transport=tcp`);
    const contactUri = parseUri(`sip:deskline@${options.appHost}:${options.appPort};transport=tcp`);

    const loggerFactory = new LoggerFactory();
    loggerFactory.builtinEnabled = false;
    const coreLog = log.child({ component: 'sip.js' });
    // SIP.js calls the connector for every level; pino does the filtering.
    loggerFactory.connector = (level, category, _label, content) => {
      const text = typeof content === 'string' ? content : JSON.stringify(content);
      if (level === 'error') coreLog.error({ category }, text);
      else if (level === 'warn') coreLog.warn({ category }, text);
      else if (level === 'log') coreLog.debug({ category }, text);
      else coreLog.trace({ category }, text);
    };
    this.parserLogger = loggerFactory.getLogger('sip.parser');

    this.connection = new KamailioConnection(
      {
        host: options.kamailioHost,
        port: options.kamailioPort,
        localHost: options.appHost,
        localPort: options.appPort,
        logger: log,
      },
      { onConnected: () => this.onConnected(), onMessage: (message) => this.deliver(message) },
    );
    const transport: Transport = { protocol: 'TCP', send: (message) => this.connection.send(message) };
    const configuration: UserAgentCoreConfiguration = {
      aor: this.ownAor,
      contact: {
        pubGruu: undefined,
        tempGruu: undefined,
        uri: contactUri,
        toString: () => `<${contactUri.toString()}>`,
      },
      displayName: '',
      loggerFactory,
      hackViaTcp: false,
      routeSet: [],
      sipjsId: randomBytes(4).toString('hex'),
      supportedOptionTags: [],
      supportedOptionTagsResponse: [],
      userAgentHeaderFieldValue: 'Deskline',
      viaForceRport: false,
      // `;alias` asks Kamailio (tcp_accept_aliases) to send requests for us back over this connection.
      viaHost: `${options.appHost}:${options.appPort};alias`,
      authenticationFactory: () => undefined,
      transportAccessor: () => transport,
    };
    this.core = new UserAgentCore(configuration, { onInvite: (request) => options.onInvite(request) });
    this.staleInvites = new StaleInvites(
      this.core,
      (message) => this.connection.send(message),
      log.child({ component: 'stale-invites' }),
    );
  }

  start(): void {
    this.connection.start();
  }

  get connected(): boolean {
    return this.connection.isConnected;
  }

  /** How long the connection to Kamailio has been up (ms); 0 while it is down. */
  get connectedForMs(): number {
    return this.connection.connectedForMs;
  }

  get contactHeader(): string {
    return `Contact: ${this.core.configuration.contact.toString()}`;
  }

  ping(session: Session, delegate: OutgoingRequestDelegate): void {
    requestInDialog(this.core, session, 'OPTIONS', delegate);
  }

  handleUpdates(session: Session, handler: (update: IncomingRequest) => void): () => void {
    const id = session.id;
    const entry = { session, handler };
    this.updateHandlers.set(id, entry);
    return () => {
      if (this.updateHandlers.get(id) === entry) this.updateHandlers.delete(id);
    };
  }

  restoreDialog(snapshot: DialogSnapshot, delegate?: SessionDelegate): Session {
    return restoreSessionDialog(this.core, snapshot, delegate);
  }

  /**
   * CANCELs the INVITE that a sip app process which died had sent to a workstation (see
   * StaleInvites); sent once connected to Kamailio.
   */
  cancelStaleInvite(ring: RingSnapshot): void {
    if (this.connected) this.staleInvites.cancel(ring);
    else this.pendingCancels.push(ring);
  }

  /** True when the request came over the connection from Kamailio (the only way in today). */
  cameFromKamailio(message: IncomingRequestMessage): boolean {
    return this.fromKamailio.has(message);
  }

  async stop(): Promise<void> {
    await this.connection.stop();
    this.core.dispose();
  }

  /**
   * Rings a workstation: INVITE sip:<user>@SIP_DOMAIN over the Kamailio connection, which looks the
   * user up in its location table. The caller's number is From's user and display name, so the
   * browser shows who is calling. Responses arrive through `delegate`; a transport error as a 503.
   */
  invite(invite: WorkstationInvite, delegate: OutgoingInviteRequestDelegate): OutgoingInviteRequest {
    const target = new URI('sip', invite.user, this.options.sipDomain);
    const caller = new URI('sip', callerUser(invite.callerNumber), this.options.sipDomain);
    const message = this.core.makeOutgoingRequestMessage(
      'INVITE',
      target,
      caller,
      target,
      { fromDisplayName: callerDisplayName(invite.callerName) ?? callerDisplayName(invite.callerNumber) },
      [`Contact: ${this.core.configuration.contact.toString()}`, ...invite.extraHeaders],
      { contentDisposition: 'session', contentType: 'application/sdp', content: invite.sdp },
    );
    return this.core.invite(message, delegate);
  }

  /**
   * Calls a patient back: INVITE sip:<number>@<trunk> over the Kamailio connection, which relays it
   * to the trunk (only requests of the sip app's connection may leave for another host). Responses
   * arrive through `delegate`; a transport error as a 503. Throws on a number that is not a dial string.
   */
  callOut(invite: TrunkInvite, delegate: OutgoingInviteRequestDelegate): OutgoingInviteRequest {
    if (!E164_NUMBER_PATTERN.test(invite.number))
      throw new Error(`not an E.164 number to dial: ${JSON.stringify(invite.number)}`);
    const target = parseUri(`sip:${invite.number}@${invite.trunk}`);
    const caller = new URI('sip', callerUser(invite.callerId), this.options.sipDomain);
    const message = this.core.makeOutgoingRequestMessage(
      'INVITE',
      target,
      caller,
      target,
      { callId: invite.callId },
      [`Contact: ${this.core.configuration.contact.toString()}`],
      { contentDisposition: 'session', contentType: 'application/sdp', content: invite.sdp },
    );
    return this.core.invite(message, delegate);
  }

  /** Parses one message from the connection and hands it to the core; never throws. */
  deliver(text: string): void {
    try {
      const message = Parser.parseMessage(text, this.parserLogger);
      if (!message) {
        this.dropped(text, 'not a SIP message');
        return;
      }
      const missing = MANDATORY_HEADERS.find((name) => !message.hasHeader(name));
      if (missing) {
        this.dropped(text, `no ${missing} header`);
        return;
      }
      if (message instanceof IncomingRequestMessage) {
        if (!message.ruri) {
          this.dropped(text, 'no Request-URI');
          return;
        }
        this.fromKamailio.add(message);
        this.handToCore(message);
      } else if (message instanceof IncomingResponseMessage) {
        if (message.getHeaders('via').length !== 1) {
          this.dropped(text, 'a response must carry exactly our Via');
          return;
        }
        if (this.staleInvites.take(message)) return;
        this.core.receiveIncomingResponseFromTransport(message);
      }
    } catch (err) {
      this.dropped(text, err instanceof Error ? err.message : String(err));
    }
  }

  private handToCore(message: IncomingRequestMessage): void {
    // The core answers 404 itself to a request whose Request-URI user is not its AOR's. The sip app
    // answers many numbers and its INVITE chain decides which (404 for one that is not a clinic line),
    // so while the core checks this request, the AOR is the request's own Request-URI.
    this.core.configuration.aor = message.ruri ?? this.ownAor;
    try {
      if (this.takeUpdate(message)) return;
      this.core.receiveIncomingRequestFromTransport(message);
    } finally {
      this.core.configuration.aor = this.ownAor;
    }
  }

  /**
   * An UPDATE in a dialog that takes them: SIP.js's SessionDialog would answer it 501. A
   * retransmission of one already being answered is left to the core, which hands it to that
   * transaction.
   */
  private takeUpdate(message: IncomingRequestMessage): boolean {
    if (message.method !== 'UPDATE' || !message.toTag) return false;
    const entry = this.updateHandlers.get(message.callId + message.toTag + message.fromTag);
    if (!entry || this.core.userAgentServers.has(message.viaBranch)) return false;
    if (!admitInDialogRequest(entry.session, message)) return true;
    entry.handler(new UserAgentServer(NonInviteServerTransaction, this.core, message));
    return true;
  }

  private dropped(text: string, reason: string): void {
    this.options.logger.warn(
      { reason, start: text.slice(0, LOGGED_PREFIX), bytes: Buffer.byteLength(text) },
      'dropped a message from Kamailio that could not be handled',
    );
  }

  private onConnected(): void {
    this.sendOptions();
    const cancels = this.pendingCancels;
    this.pendingCancels = [];
    for (const ring of cancels) this.staleInvites.cancel(ring);
    this.options.onConnected?.();
  }

  /** Tells Kamailio who we are on a new connection: the Via `;alias` of this request binds it. */
  private sendOptions(): void {
    const log = this.options.logger;
    try {
      const request = this.core.makeOutgoingRequestMessage(
        'OPTIONS',
        this.kamailioUri,
        this.ownAor,
        this.kamailioUri,
        {},
      );
      this.core.request(request, {
        onAccept: (response) => log.info({ status: response.message.statusCode }, 'Kamailio answered our OPTIONS'),
        // SIP.js reports a timeout as a 408 and a transport error as a 503 here.
        onReject: (response) =>
          log.warn(
            { status: response.message.statusCode, reason: response.message.reasonPhrase },
            'Kamailio refused our OPTIONS',
          ),
      });
    } catch (err) {
      log.warn({ err }, 'could not send OPTIONS to Kamailio');
    }
  }
}

/** A number the trunk can be asked to dial: digits, an optional leading +, * and #. */

/**
 * The user part for a caller's number: dial characters only (SIP.js leaves ':' and '/' unescaped, and
 * a trunk may present anything), or "anonymous" when nothing is left.
 */
function callerUser(number: string): string {
  const user = number.replace(/[^0-9A-Za-z+*#._~-]/g, '');
  return user === '' ? 'anonymous' : user;
}

/** A display name is a quoted string (RFC 3261 §25.1): no quotes, backslashes or control characters. */
function callerDisplayName(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const clean = text
    .replace(/["\\\x00-\x1f\x7f]/g, '')
    .trim()
    .slice(0, 64);
  return clean === '' ? undefined : clean;
}

function parseUri(text: string): URI {
  const uri = Grammar.URIParse(text);
  if (!uri) throw new Error(`not a valid SIP URI: ${text}`);
  return uri;
}
