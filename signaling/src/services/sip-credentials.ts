import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type IceServer, type SipCredentials } from '@deskline/protocol';
import { RedisKeys, browserSipUser, SIP_AUTH_ISSUE, SIP_AUTH_REVOKE } from '@deskline/store';

/**
 * Short-lived SIP credentials in the auth_ephemeral (TURN REST) format that Kamailio checks: the
 * username "<expiry>:<sipUser>" carries its expiry, the password is an HMAC of the username with the
 * shared secret. The browser never learns a long-lived SIP password, and a stolen one dies on its own.
 */
function credentialsFor(
  options: { secret: string; domain: string; wsUrl: string },
  sipUser: string,
  expirySeconds: number,
): SipCredentials {
  const username = `${expirySeconds}:${sipUser}`;
  const password = createHmac('sha1', options.secret).update(username).digest('base64');
  return {
    wsUrl: options.wsUrl,
    uri: `sip:${sipUser}@${options.domain}`,
    username,
    password,
    expiresAt: expirySeconds * 1000,
  };
}

/**
 * The browsers' SIP credentials are good only while the workstation has the holder they were issued
 * to: Kamailio accepts a REGISTER or a callback INVITE only with a username in sip-auth:<sipUser>
 * (docs/security.md). AgentService revokes them whenever the holder changes or must prove themselves
 * again (logout, disable, password change).
 */
export class SipAuthorizations {
  constructor(private readonly redis: Redis) {}

  /** Credentials for `userId` on their browser workstation; undefined if they no longer hold it. */
  async issue(options: {
    userId: string;
    workstationId: string;
    secret: string;
    domain: string;
    wsUrl: string;
    lifetimeMs: number;
    now?: number;
  }): Promise<SipCredentials | undefined> {
    const now = options.now ?? Date.now();
    const sipUser = browserSipUser(options.workstationId);
    const expiry = (await this.redis.eval(
      SIP_AUTH_ISSUE,
      3,
      RedisKeys.workstationHolder(options.workstationId),
      RedisKeys.sipAuth(sipUser),
      RedisKeys.sipAuthRevoked(sipUser),
      options.userId,
      String(Math.floor((now + options.lifetimeMs) / 1000)),
      String(Math.floor(now / 1000)),
      sipUser,
    )) as number | null;
    return expiry === null ? undefined : credentialsFor(options, sipUser, expiry);
  }

  /** Nobody holding the workstation's credentials can register or call back with them any more. */
  async revoke(workstationId: string, now = Date.now()): Promise<void> {
    const sipUser = browserSipUser(workstationId);
    await this.redis.eval(
      SIP_AUTH_REVOKE,
      3,
      RedisKeys.sipAuth(sipUser),
      RedisKeys.sipAuthRevoked(sipUser),
      RedisKeys.sipRevocations,
      sipUser,
      String(Math.floor(now / 1000)),
    );
  }
}

/**
 * Time-limited TURN credentials in the TURN REST API format that coturn checks with
 * `use-auth-secret`: username "<expiry epoch seconds>:<userId>", credential
 * base64(HMAC-SHA1(secret, username)). They expire with the SIP credentials they come with.
 */
export function turnCredentials(options: {
  secret: string;
  urls: readonly string[];
  userId: string;
  expiresAt: number;
}): IceServer {
  const username = `${Math.floor(options.expiresAt / 1000)}:${options.userId}`;
  const credential = createHmac('sha1', options.secret).update(username).digest('base64');
  return { urls: [...options.urls], username, credential };
}
