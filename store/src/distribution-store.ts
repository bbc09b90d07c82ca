import type { Redis } from 'ioredis';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_DISTRIBUTION, DistributionSettingsSchema, type DistributionSettings } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The distribution settings (`settings:distribution`, a hash; docs/managers.md "Distribution").
 * Managers save them through signaling (PUT /api/settings/distribution) or `deskline distribution
 * set`; the sip app's router reads them at every routing pass, and the agent scripts read
 * wrapUpSeconds and autoPauseAfter at every release, so a change takes effect on the next call.
 *
 * A field that is missing or does not match the schema (edited by hand) reads as the default's.
 */
export class DistributionStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<DistributionSettings> {
    const hash = await this.redis.hgetall(RedisKeys.distribution);
    const settings: DistributionSettings = structuredClone(DEFAULT_DISTRIBUTION);
    const { properties } = DistributionSettingsSchema;
    const parsed: Record<string, unknown> = {
      strategy: hash['strategy'],
      fixedOrder: parseJson(hash['fixedOrder']),
      wrapUpSeconds: numberOf(hash['wrapUpSeconds']),
      autoPauseAfter: numberOf(hash['autoPauseAfter']),
      ringTimeoutSeconds: numberOf(hash['ringTimeoutSeconds']),
    };
    for (const [field, schema] of Object.entries(properties)) {
      const value = parsed[field];
      if (value !== undefined && Value.Check(schema, value)) (settings as Record<string, unknown>)[field] = value;
    }
    return settings;
  }

  /** Replaces the settings; the caller has validated them (DistributionSettingsSchema). */
  async put(settings: DistributionSettings): Promise<void> {
    await this.redis
      .multi()
      .del(RedisKeys.distribution)
      .hset(RedisKeys.distribution, {
        strategy: settings.strategy,
        fixedOrder: JSON.stringify(settings.fixedOrder),
        wrapUpSeconds: String(settings.wrapUpSeconds),
        autoPauseAfter: String(settings.autoPauseAfter),
        ...(settings.ringTimeoutSeconds === undefined
          ? {}
          : { ringTimeoutSeconds: String(settings.ringTimeoutSeconds) }),
      })
      .exec();
  }
}

const numberOf = (text: string | undefined): number | undefined =>
  text === undefined || text === '' ? undefined : Number(text);

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
