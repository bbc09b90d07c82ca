import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  Grammar,
  IncomingRequestMessage,
  IncomingResponseMessage,
  LoggerFactory,
  Parser,
  URI,
  UserAgentCore,
  type IncomingInviteRequest,
  type OutgoingInviteRequest,
  type OutgoingInviteRequestDelegate,
  type Transport,
  type UserAgentCoreConfiguration,
} from 'sip.js/lib/core/index.js';
import { KamailioConnection } from './kamailio-connection.js';

export interface SipStackOptions {
  sipDomain: string;
  kamailioHost: string;
  kamailioPort: number;
  appHost: string;
  appPort: number;
  logger: Logger;
  /** Every new INVITE. Runs inside the core's dispatch: start async work, do not throw. */
  onInvite(request: IncomingInviteRequest): void;
}

/** An INVITE that rings a workstation through Kamailio (docs/call-path.md, "SIP identities"). */
export interface WorkstationInvite {
  /** The SIP user to ring, e.g. ws-<workstationId>; the Request-URI is sip:<user>@SIP_DOMAIN. */
  user: string;
  /** The patient's number, shown as the caller: From's user part and display name. */
  callerNumber: string;
  /** The SDP offer for the workstation. */
  sdp: string;
  /** Whole header lines ("Name: value") to add. */
  extraHeaders: string[];
}

/** What a call needs of the SIP stack to ring a workstation. */
export interface Dialer {
  invite(invite: WorkstationInvite, delegate: OutgoingInviteRequestDelegate): OutgoingInviteRequest;
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
export class SipStack implements Dialer {
  readonly core: UserAgentCore;
  private readonly connection: KamailioConnection;
  private readonly ownAor: URI;
  private readonly kamailioUri: URI;
  private readonly parserLogger;
  /** Requests that arrived over the Kamailio connection, for the INVITE chain's first check. */
  private readonly fromKamailio = new WeakSet<IncomingRequestMessage>();

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
      { host: options.kamailioHost, port: options.kamailioPort, localHost: options.appHost, localPort: options.appPort, logger: log },
      { onConnected: () => this.sendOptions(), onMessage: (message) => this.deliver(message) },
    );
    const transport: Transport = { protocol: 'TCP', send: (message) => this.connection.send(message) };
    const configuration: UserAgentCoreConfiguration = {
      aor: this.ownAor,
      contact: { pubGruu: undefined, tempGruu: undefined, uri: contactUri, toString: () => `<${contactUri.toString()}>` },
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
  }

  start(): void {
    this.connection.start();
  }

  get connected(): boolean {
    return this.connection.isConnected;
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
      { fromDisplayName: callerDisplayName(invite.callerNumber) },
      [`Contact: ${this.core.configuration.contact.toString()}`, ...invite.extraHeaders],
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
      this.core.receiveIncomingRequestFromTransport(message);
    } finally {
      this.core.configuration.aor = this.ownAor;
    }
  }

  private dropped(text: string, reason: string): void {
    this.options.logger.warn(
      { reason, start: text.slice(0, LOGGED_PREFIX), bytes: Buffer.byteLength(text) },
      'dropped a message from Kamailio that could not be handled',
    );
  }

  /** Tells Kamailio who we are on a new connection: the Via `;alias` of this request binds it. */
  private sendOptions(): void {
    const log = this.options.logger;
    try {
      const request = this.core.makeOutgoingRequestMessage('OPTIONS', this.kamailioUri, this.ownAor, this.kamailioUri, {});
      this.core.request(request, {
        onAccept: (response) => log.info({ status: response.message.statusCode }, 'Kamailio answered our OPTIONS'),
        // SIP.js reports a timeout as a 408 and a transport error as a 503 here.
        onReject: (response) =>
          log.warn({ status: response.message.statusCode, reason: response.message.reasonPhrase }, 'Kamailio refused our OPTIONS'),
      });
    } catch (err) {
      log.warn({ err }, 'could not send OPTIONS to Kamailio');
    }
  }
}

/**
 * The user part for a caller's number: dial characters only (SIP.js leaves ':' and '/' unescaped, and
 * a trunk may present anything), or "anonymous" when nothing is left.
 */
function callerUser(number: string): string {
  const user = number.replace(/[^0-9A-Za-z+*#._~-]/g, '');
  return user === '' ? 'anonymous' : user;
}

/** A display name is a quoted string (RFC 3261 §25.1): no quotes, backslashes or control characters. */
function callerDisplayName(number: string): string | undefined {
  const clean = number.replace(/["\\\x00-\x1f\x7f]/g, '').trim().slice(0, 64);
  return clean === '' ? undefined : clean;
}

function parseUri(text: string): URI {
  const uri = Grammar.URIParse(text);
  if (!uri) throw new Error(`not a valid SIP URI: ${text}`);
  return uri;
}
