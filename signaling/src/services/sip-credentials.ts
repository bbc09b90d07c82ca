import { createHmac } from 'node:crypto';
import { browserSipUser, type IceServer, type SipCredentials } from '@deskline/protocol';

/**
 * Short-lived SIP credentials in the auth_ephemeral (TURN REST) format that Kamailio checks: the
 * username carries its expiry, the password is an HMAC of the username with the shared secret. The
 * browser never learns a long-lived SIP password, and a stolen one dies on its own.
 */
export function ephemeralCredentials(options: {
  secret: string;
  domain: string;
  wsUrl: string;
  workstationId: string;
  lifetimeMs: number;
  now?: number;
}): SipCredentials {
  const sipUser = browserSipUser(options.workstationId);
  const expiresAt = (options.now ?? Date.now()) + options.lifetimeMs;
  const username = `${Math.floor(expiresAt / 1000)}:${sipUser}`;
  const password = createHmac('sha1', options.secret).update(username).digest('base64');
  return { wsUrl: options.wsUrl, uri: `sip:${sipUser}@${options.domain}`, username, password, expiresAt };
}

/**
 * Time-limited TURN credentials in the TURN REST API format that coturn checks with
 * `use-auth-secret`: username "<expiry epoch seconds>:<userId>", credential
 * base64(HMAC-SHA1(secret, username)). They expire with the SIP credentials they come with.
 */
export function turnCredentials(options: { secret: string; urls: readonly string[]; userId: string; expiresAt: number }): IceServer {
  const username = `${Math.floor(options.expiresAt / 1000)}:${options.userId}`;
  const credential = createHmac('sha1', options.secret).update(username).digest('base64');
  return { urls: [...options.urls], username, credential };
}
