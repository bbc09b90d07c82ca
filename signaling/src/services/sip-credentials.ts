import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type IceServer, type SipCredentials } from '@deskline/protocol';
import { RedisKeys, browserSipUser } from '@deskline/store';

/**
 * Short-lived SIP credentials in the auth_ephemeral (TURN REST) format that Kamailio checks: the
 * username "<expiry>:<sipUser>" carries its expiry, the password is an HMAC of the username with the
 * shared secret. The browser never learns a long-lived SIP password, and a stolen one dies on its own.
 */
function credentialsFor(options: { secret: string; domain: string; wsUrl: string }, sipUser: string, expirySeconds: number): SipCredentials {
  const username = `${expirySeconds}:${sipUser}`;
  const password = createHmac('sha1', options.secret).update(username).digest('base64');
  return { wsUrl: options.wsUrl, uri: `sip:${sipUser}@${options.domain}`, username, password, expiresAt: expirySeconds * 1000 };
}

/**
 * Records an issued username as valid for its workstation's SIP user, unless the workstation's holder
 * is no longer `userId` (a credentials request that crossed the user's leaving). The expiry is moved
 * past the newest revoked one, so that credentials issued in the same second as revoked ones (same
 * username, hence same password) can never bring the revoked ones back.
 *   KEYS: workstation-holder:<ws>, sip-auth:<sipUser>, sip-auth-revoked:<sipUser>
 *   ARGV: userId, expiry (epoch s), now (epoch s), sipUser
 *   returns: the expiry (epoch s) of the recorded username, or false
 */
const ISSUE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local expiry = tonumber(ARGV[2])
local revoked = tonumber(redis.call('GET', KEYS[3]) or '0')
if expiry <= revoked then expiry = revoked + 1 end
redis.call('SADD', KEYS[2], expiry .. ':' .. ARGV[4])
local ttl = expiry - tonumber(ARGV[3])
local current = redis.call('TTL', KEYS[2])
if current < ttl then redis.call('EXPIRE', KEYS[2], ttl) end
return expiry`;

/** Kamailio pops the list every 100 ms; this many pending revocations are kept if it is down. */
const SIP_REVOCATIONS_KEPT = 10_000;

/**
 * Revokes every username issued for a SIP user and asks Kamailio to drop the registrations made with
 * them (it pops sip-revocations every 100 ms and keeps only contacts whose username is still valid).
 *   KEYS: sip-auth:<sipUser>, sip-auth-revoked:<sipUser>, sip-auth:revoked
 *   ARGV: sipUser, now (epoch s)
 */
const REVOKE = `
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
for _, username in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local expiry = tonumber(string.match(username, '^(%d+):'))
  if expiry and expiry > newest then newest = expiry end
end
redis.call('DEL', KEYS[1])
if newest > tonumber(ARGV[2]) then redis.call('SET', KEYS[2], newest, 'EXAT', newest) end
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], -${SIP_REVOCATIONS_KEPT}, -1)
return 1`;

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
      ISSUE,
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
      REVOKE,
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
export function turnCredentials(options: { secret: string; urls: readonly string[]; userId: string; expiresAt: number }): IceServer {
  const username = `${Math.floor(options.expiresAt / 1000)}:${options.userId}`;
  const credential = createHmac('sha1', options.secret).update(username).digest('base64');
  return { urls: [...options.urls], username, credential };
}
