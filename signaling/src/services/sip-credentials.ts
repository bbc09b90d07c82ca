import { createHmac } from 'node:crypto';
import { browserSipUser, type SipCredentials } from '@deskline/protocol';

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
