/**
 * An INVITE with digest authentication, as JsSIP sends one: first without credentials, and after
 * Kamailio's 407 (or 401) challenge again, CSeq one higher, with a Proxy-Authorization answering it.
 */
import { header, type SipMessage } from './sip-message.js';
import type { RequestOptions, SentRequest, SipEndpoint } from './sip-endpoint.js';
import { digestAuthorization } from './sip-register.js';

export interface AuthenticatedInvite {
  /** The first final response: the challenge, or whatever came instead of one. */
  challenge: SipMessage;
  /** The INVITE sent with credentials, when there was a challenge to answer. */
  invite?: SentRequest;
}

/**
 * Sends `options` as an INVITE; if it is challenged, ACKs the challenge and sends it again with the
 * credentials. Resolves once the second INVITE is sent; wait for its responses with `finalResponse`.
 */
export async function sendAuthenticatedInvite(
  endpoint: SipEndpoint,
  options: Omit<RequestOptions, 'method'>,
  credentials: { username: string; password: string },
  timeoutMs = 5000,
): Promise<AuthenticatedInvite> {
  const first = endpoint.sendRequest({ ...options, method: 'INVITE' });
  const challenge = await endpoint.finalResponse(first, timeoutMs);
  if (challenge.status !== 407 && challenge.status !== 401) return { challenge };
  const authorization = digestAuthorization(
    challenge,
    'INVITE',
    options.uri,
    credentials.username,
    credentials.password,
  );
  const name = challenge.status === 407 ? 'Proxy-Authorization' : 'Authorization';
  const invite = endpoint.sendRequest({
    ...options,
    method: 'INVITE',
    callId: first.callId,
    fromTag: first.fromTag,
    cseq: first.cseq + 1,
    headers: [...(options.headers ?? []), [name, authorization]],
  });
  return { challenge, invite };
}

/** True when the challenge is Kamailio's digest challenge for `realm`. */
export function isChallenge(response: SipMessage, realm: string): boolean {
  const value = header(response, 'proxy-authenticate') ?? header(response, 'www-authenticate') ?? '';
  return (response.status === 407 || response.status === 401) && value.includes(`realm="${realm}"`);
}
