/**
 * A fixed-offset zone where it is about noon now, so that a test's calls cannot straddle the clinic's
 * midnight whenever the test runs. Etc/GMT-2 is UTC+2 (the sign is POSIX's). At offset 0 the name is
 * `UTC`: ICU canonicalises `Etc/GMT` to `UTC`, and signaling reports the canonical name back.
 */
export function zoneAtNoon(now = new Date()): string {
  const offset = 12 - now.getUTCHours();
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
