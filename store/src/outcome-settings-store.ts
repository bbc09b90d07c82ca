import type { Redis } from 'ioredis';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_OUTCOME_SETTINGS, OutcomeSettingsSchema, type OutcomeSettings } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The managers' outcome settings (`outcome-settings`, JSON; docs/managers.md "Call outcomes"): whether
 * Abandoned tasks (hung up during the intro) may be called back. Absent, or not readable: the default
 * (off).
 */
export class OutcomeSettingsStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<OutcomeSettings> {
    const json = await this.redis.get(RedisKeys.outcomeSettings);
    if (json !== null) {
      try {
        const stored: unknown = JSON.parse(json);
        if (Value.Check(OutcomeSettingsSchema, stored)) return stored;
      } catch {
        // Not JSON: the default applies.
      }
    }
    return { ...DEFAULT_OUTCOME_SETTINGS };
  }

  /** Replaces the settings; the caller has validated them (OutcomeSettingsSchema). */
  async set(settings: OutcomeSettings): Promise<OutcomeSettings> {
    await this.redis.set(RedisKeys.outcomeSettings, JSON.stringify(settings));
    return settings;
  }
}
