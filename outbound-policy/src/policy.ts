import {
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max';
import {
  CALLBACKS_PER_DAY_MAX,
  CALLBACK_DURATION_MAX_SECONDS,
  CALLBACK_DURATION_MIN_SECONDS,
  DEFAULT_ALLOWED_NUMBER_TYPES,
  DEFAULT_CALLBACKS_PER_DAY,
  DEFAULT_CALLBACK_MAX_SECONDS,
  E164_NUMBER_PATTERN,
  E164_PREFIX_PATTERN,
  NUMBER_TYPES,
  NUMBER_TYPE_NAMES,
  OUTBOUND_POLICY_MAX_PREFIXES,
  type NumberType,
  type OutboundPolicy,
  type PolicyRefusal,
} from '@deskline/protocol';

/** The clinic's country when CLINIC_COUNTRY is not set. */
export const DEFAULT_CLINIC_COUNTRY = 'PL';

/** Whether libphonenumber knows `country` (an upper-case ISO 3166-1 alpha-2 code such as PL). */
export function isClinicCountry(country: string): boolean {
  return /^[A-Z]{2}$/.test(country) && isSupportedCountry(country);
}

/** The country's calling code as an E.164 prefix: "+48" for PL. */
export function countryPrefix(country: string): string {
  return `+${getCountryCallingCode(country as CountryCode)}`;
}

/** A new Deskline's policy: the clinic's own country, landlines and mobiles only, 50 a day, 30 minutes. */
export function defaultPolicy(country: string): OutboundPolicy {
  return {
    allowedPrefixes: [countryPrefix(country)],
    deniedPrefixes: [],
    allowedTypes: [...DEFAULT_ALLOWED_NUMBER_TYPES],
    maxCallbacksPerDay: DEFAULT_CALLBACKS_PER_DAY,
    maxDurationSeconds: DEFAULT_CALLBACK_MAX_SECONDS,
  };
}

export type PolicyVerdict =
  { allowed: true; e164: string; type: NumberType } | { allowed: false; refusal: PolicyRefusal; message: string };

/** What the employee reads: why the number is refused, naming the policy. */
function refused(number: string, refusal: PolicyRefusal, why: string): PolicyVerdict {
  return { allowed: false, refusal, message: `${number} is outside the clinic's callback policy: ${why}.` };
}

/**
 * Whether a callback may dial `number` (as the trunk sent it to us: national, international with
 * `+` or `00`), read in the clinic's `country`. Allowed: its E.164 form starts with an allowed
 * prefix, with no denied one, and libphonenumber classifies it as one of the allowed kinds. Service
 * codes (`*`, `#`) and numbers that cannot exist are refused whatever the policy says.
 */
export function evaluate(policy: OutboundPolicy, number: string, country: string): PolicyVerdict {
  const raw = number.trim();
  if (/[*#]/.test(raw)) return refused(raw, 'not-a-number', 'service codes (with * or #) are not allowed');
  if (!/^\+?[0-9]{1,32}$/.test(raw)) return refused(raw, 'not-a-number', 'it is not a phone number');
  const parsed = parsePhoneNumberFromString(raw, country as CountryCode);
  if (!parsed || !parsed.isPossible() || !E164_NUMBER_PATTERN.test(parsed.number)) {
    return refused(raw, 'not-a-number', 'it is not a possible phone number (too short or too long)');
  }
  const e164 = parsed.number;
  if (!policy.allowedPrefixes.some((prefix) => e164.startsWith(prefix))) {
    const why =
      policy.allowedPrefixes.length === 0
        ? 'it allows no prefix, so no number can be called back'
        : `only numbers starting with ${policy.allowedPrefixes.join(', ')} are allowed`;
    return refused(raw, 'not-allowed-prefix', why);
  }
  const denied = policy.deniedPrefixes.find((prefix) => e164.startsWith(prefix));
  if (denied) return refused(raw, 'denied-prefix', `numbers starting with ${denied} are not allowed`);
  const type: NumberType = parsed.getType() ?? 'UNKNOWN';
  if (!policy.allowedTypes.includes(type)) {
    const why =
      type === 'UNKNOWN'
        ? 'it is not in any known landline or mobile range'
        : `${NUMBER_TYPE_NAMES[type]} numbers are not allowed`;
    return refused(raw, 'type-not-allowed', why);
  }
  return { allowed: true, e164, type };
}

/** What is wrong with a policy, in words, or undefined. The API's schema has checked its shape. */
export function policyProblem(policy: OutboundPolicy): string | undefined {
  for (const [name, prefixes] of [
    ['allowed', policy.allowedPrefixes],
    ['denied', policy.deniedPrefixes],
  ] as const) {
    if (prefixes.length > OUTBOUND_POLICY_MAX_PREFIXES)
      return `At most ${OUTBOUND_POLICY_MAX_PREFIXES} ${name} prefixes.`;
    const bad = prefixes.find((prefix) => !E164_PREFIX_PATTERN.test(prefix));
    if (bad !== undefined)
      return `"${bad}" is not an E.164 prefix: a + and the country code, e.g. +48, then more digits if needed (+4822).`;
  }
  const badType = policy.allowedTypes.find((type) => !(NUMBER_TYPES as readonly string[]).includes(type));
  if (badType !== undefined) return `"${badType}" is not a kind of number.`;
  if (
    !Number.isInteger(policy.maxCallbacksPerDay) ||
    policy.maxCallbacksPerDay < 0 ||
    policy.maxCallbacksPerDay > CALLBACKS_PER_DAY_MAX
  ) {
    return `Callbacks per employee per day must be a whole number from 0 to ${CALLBACKS_PER_DAY_MAX}.`;
  }
  if (
    !Number.isInteger(policy.maxDurationSeconds) ||
    policy.maxDurationSeconds < CALLBACK_DURATION_MIN_SECONDS ||
    policy.maxDurationSeconds > CALLBACK_DURATION_MAX_SECONDS
  ) {
    return `The longest callback must be from ${CALLBACK_DURATION_MIN_SECONDS} seconds to ${CALLBACK_DURATION_MAX_SECONDS / 3600} hours.`;
  }
  return undefined;
}

/** The policy as stored: prefixes without repeats, in order; types in NUMBER_TYPES' order. */
export function tidyPolicy(policy: OutboundPolicy): OutboundPolicy {
  return {
    allowedPrefixes: [...new Set(policy.allowedPrefixes)].sort(),
    deniedPrefixes: [...new Set(policy.deniedPrefixes)].sort(),
    allowedTypes: NUMBER_TYPES.filter((type) => policy.allowedTypes.includes(type)),
    maxCallbacksPerDay: policy.maxCallbacksPerDay,
    maxDurationSeconds: policy.maxDurationSeconds,
  };
}

/**
 * A patient's number in E.164 (+48601234567), given in any spelling a trunk or a person uses
 * (national, `00…`, `+…`, with spaces, dots, dashes or brackets), read in the clinic's `country`; or
 * undefined when it cannot be a phone number. Contacts are stored and looked up under this form.
 */
export function toE164(number: string, country: string): string | undefined {
  const raw = number.trim().replace(/[\s().\-/]/g, '');
  if (!/^(\+|00)?[0-9]{3,20}$/.test(raw)) return undefined;
  const parsed = parsePhoneNumberFromString(raw.replace(/^00/, '+'), country as CountryCode);
  if (!parsed || !parsed.isPossible() || !E164_NUMBER_PATTERN.test(parsed.number)) return undefined;
  return parsed.number;
}
