/**
 * REGISTER with digest authentication (RFC 2617, qop=auth, MD5) from any SipEndpoint, and the
 * credentials Deskline hands out: static passwords for desk phones (HA1 in Redis) and ephemeral
 * credentials for browsers, computed exactly as docs/call-path.md says signaling computes them.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { header, type SipMessage } from './sip-message.js';
import type { SipEndpoint, SipUdpEndpoint } from './sip-endpoint.js';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** The HA1 that the Redis hash sip-credentials holds for a desk phone. */
export function phoneHa1(username: string, domain: string, password: string): string {
  return md5(`${username}:${domain}:${password}`);
}

export interface EphemeralCredentials {
  username: string;
  password: string;
}

/** username "<expiry>:<sipUser>", password base64(HMAC-SHA1(secret, username)). */
export function ephemeralCredentials(secret: string, sipUser: string, expiresAt: number): EphemeralCredentials {
  const username = `${expiresAt}:${sipUser}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

function challengeParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) {
    params[(m[1] ?? '').toLowerCase()] = m[3] ?? m[2] ?? '';
  }
  return params;
}

/** The Authorization header answering the WWW-Authenticate of `challenge`. */
export function digestAuthorization(
  challenge: SipMessage,
  method: string,
  uri: string,
  username: string,
  password: string,
): string {
  const www = header(challenge, 'www-authenticate') ?? header(challenge, 'proxy-authenticate');
  if (!www) throw new Error(`${challenge.startLine} has no WWW-Authenticate header`);
  const c = challengeParams(www);
  const realm = c['realm'] ?? '';
  const nonce = c['nonce'] ?? '';
  const ha1 = md5(`${username}:${realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const parts = [`username="${username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${uri}"`, 'algorithm=MD5'];
  if (
    (c['qop'] ?? '')
      .split(',')
      .map((q) => q.trim())
      .includes('auth')
  ) {
    const cnonce = randomBytes(8).toString('hex');
    const nc = '00000001';
    parts.push(
      `response="${md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`,
      'qop=auth',
      `nc=${nc}`,
      `cnonce="${cnonce}"`,
    );
  } else {
    parts.push(`response="${md5(`${ha1}:${nonce}:${ha2}`)}"`);
  }
  if (c['opaque'] !== undefined) parts.push(`opaque="${c['opaque']}"`);
  return `Digest ${parts.join(', ')}`;
}

export interface RegisterOptions {
  /** The SIP user (AoR user part) being registered. */
  user: string;
  domain: string;
  /** Digest username and password. */
  username: string;
  password: string;
  contact: string;
  expires: number;
  /** Call-ID to reuse, as a real UA does for refreshes and the unregister. */
  callId?: string;
  userAgent?: string;
  timeoutMs?: number;
}

export interface RegisterResult {
  /** The last final response. */
  response: SipMessage;
  /** The first final response, normally the 401 challenge. */
  challenge: SipMessage;
  callId: string;
}

/** REGISTER, answer the 401 challenge once, and resolve with the final answer to that. */
export async function register(endpoint: SipEndpoint, options: RegisterOptions): Promise<RegisterResult> {
  const uri = `sip:${options.domain}`;
  const aor = `sip:${options.user}@${options.domain}`;
  const extra: [string, string][] = [
    ['Expires', String(options.expires)],
    ['User-Agent', options.userAgent ?? 'Deskline test UA'],
  ];
  const first = endpoint.sendRequest({
    method: 'REGISTER',
    uri,
    from: aor,
    to: aor,
    contact: options.contact,
    headers: extra,
    callId: options.callId,
  });
  const challenge = await endpoint.finalResponse(first, options.timeoutMs);
  if (challenge.status !== 401) return { response: challenge, challenge, callId: first.callId };
  const authorization = digestAuthorization(challenge, 'REGISTER', uri, options.username, options.password);
  const second = endpoint.sendRequest({
    method: 'REGISTER',
    uri,
    from: aor,
    to: aor,
    contact: options.contact,
    callId: first.callId,
    fromTag: first.fromTag,
    cseq: first.cseq + 1,
    headers: [...extra, ['Authorization', authorization]],
  });
  return { response: await endpoint.finalResponse(second, options.timeoutMs), challenge, callId: first.callId };
}

/** A desk phone's SIP account and where its registrar is: what a manager types into the phone. */
export interface DeskPhoneAccount {
  registrar: { host: string; sipPort: number; domain: string };
  sipUser: string;
  password: string;
}

/**
 * A desk phone on its own UDP port (or `endpoint`'s, for a refresh or an unregistration from the same
 * contact) REGISTERs as `account`, with the phone's User-Agent; resolves with the registrar's final
 * status (200 registered, 401 a wrong or revoked password).
 */
export async function registerDeskPhone(
  account: DeskPhoneAccount,
  options: { endpoint: SipUdpEndpoint; expires?: number; userAgent?: string },
): Promise<number> {
  const { endpoint } = options;
  const { response } = await register(endpoint, {
    user: account.sipUser,
    domain: account.registrar.domain,
    username: account.sipUser,
    password: account.password,
    contact: `sip:${account.sipUser}@${endpoint.localAddress}:${endpoint.localPort}`,
    expires: options.expires ?? 300,
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
  });
  return response.status ?? 0;
}
