import type { Redis } from 'ioredis';
import { type OutboundPolicy } from '@deskline/protocol';
import { RedisKeys, OUTBOUND_POLICY_WRITE_POLICY } from '@deskline/store';
import { defaultPolicy, policyProblem, tidyPolicy } from './policy.js';

/**
 * How long the sip app's authorization of one INVITE to the trunk lives: it is written just before
 * the INVITE is sent over the connection to Kamailio, which takes it at once.
 */
export const OUTBOUND_CALL_AUTHORIZATION_SECONDS = 10;

// The policy and Kamailio's copy of its prefixes change together. A prefix both allowed and denied
// is denied (the deny is written last), as in evaluate().
// ARGV[1]: the policy's JSON; ARGV[2]: "only-if-absent" or "always"; then "allow"/"deny" and prefix pairs.
/**
 * The one owner of the outbound policy in Redis (docs/security.md, "Callbacks: the outbound policy"):
 * the policy (`outbound-policy`, JSON), Kamailio's copy of its prefixes (`outbound-policy:prefixes`,
 * prefix -> allow|deny) and the sip app's per-INVITE authorizations (`outbound-call:<Call-ID>`).
 * Before anyone saved a policy, the default of the clinic's country applies, and is stored by the
 * first service to start (so that Kamailio sees the same).
 */
export class OutboundPolicyStore {
  constructor(
    private readonly redis: Redis,
    /** CLINIC_COUNTRY, for the default policy. */
    readonly country: string,
  ) {}

  /** Stores the default policy unless one is stored; call at start. */
  async ensure(): Promise<void> {
    await this.write(defaultPolicy(this.country), 'only-if-absent');
  }

  /** The policy in force: the stored one, or the default when none is stored (or it cannot be read). */
  async get(): Promise<OutboundPolicy> {
    const json = await this.redis.get(RedisKeys.outboundPolicy);
    if (json !== null) {
      try {
        const stored = JSON.parse(json) as OutboundPolicy;
        if (policyProblem(stored) === undefined) return stored;
      } catch {
        // Not JSON: the default applies, as for no policy at all.
      }
    }
    return defaultPolicy(this.country);
  }

  /** Replaces the policy (and Kamailio's prefixes). Throws a PolicyError saying what is wrong with it. */
  async set(policy: OutboundPolicy): Promise<OutboundPolicy> {
    const problem = policyProblem(policy);
    if (problem !== undefined) throw new PolicyError(problem);
    const tidy = tidyPolicy(policy);
    await this.write(tidy, 'always');
    return tidy;
  }

  /** Back to the default policy of the clinic's country. */
  async reset(): Promise<OutboundPolicy> {
    return this.set(defaultPolicy(this.country));
  }

  /**
   * Authorizes one INVITE to the trunk: Kamailio relays an INVITE with this Call-ID only to this
   * E.164 number, once, within OUTBOUND_CALL_AUTHORIZATION_SECONDS.
   */
  async authorizeCall(callId: string, e164: string): Promise<void> {
    await this.redis.set(RedisKeys.outboundCall(callId), e164, 'EX', OUTBOUND_CALL_AUTHORIZATION_SECONDS);
  }

  private async write(policy: OutboundPolicy, mode: 'only-if-absent' | 'always'): Promise<void> {
    const pairs = [
      ...policy.allowedPrefixes.flatMap((p) => ['allow', p]),
      ...policy.deniedPrefixes.flatMap((p) => ['deny', p]),
    ];
    await this.redis.eval(
      OUTBOUND_POLICY_WRITE_POLICY,
      2,
      RedisKeys.outboundPolicy,
      RedisKeys.outboundPrefixes,
      JSON.stringify(policy),
      mode,
      ...pairs,
    );
  }
}

/** A policy that cannot be saved; the message says why. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}
