import { Value } from '@sinclair/typebox/value';
import { DistributionSettingsSchema } from '@deskline/protocol';
import type { UserStore } from './user-store.js';

/**
 * What is wrong with distribution settings before they are saved (PUT /api/settings/distribution and
 * `deskline distribution set` both ask): the schema's complaints, and a fixed order naming a user who
 * does not exist. [] when they may be saved.
 */
export async function distributionProblems(settings: unknown, users: Pick<UserStore, 'get'>): Promise<string[]> {
  if (!Value.Check(DistributionSettingsSchema, settings))
    return [...Value.Errors(DistributionSettingsSchema, settings)].map(
      (error) => `${error.path || 'settings'}: ${error.message}`,
    );
  const problems: string[] = [];
  for (const userId of settings.fixedOrder) {
    const user = await users.get(userId);
    if (!user) problems.push(`The fixed order names ${userId}, who is not a user.`);
  }
  return problems;
}
