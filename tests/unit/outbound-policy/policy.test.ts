import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  countryPrefix,
  defaultPolicy,
  evaluate,
  isClinicCountry,
  policyProblem,
  tidyPolicy,
} from '@deskline/outbound-policy';
import { E164_NUMBER_PATTERN, type OutboundPolicy } from '@deskline/protocol';

const PL = defaultPolicy('PL');

test("the default policy: the country's calling code, landlines and mobiles, 50 a day, 30 minutes", () => {
  assert.equal(PL, {
    allowedPrefixes: ['+48'],
    deniedPrefixes: [],
    allowedTypes: ['FIXED_LINE', 'MOBILE', 'FIXED_LINE_OR_MOBILE'],
    maxCallbacksPerDay: 50,
    maxDurationSeconds: 1800,
  });
  assert.is(defaultPolicy('DE').allowedPrefixes[0], '+49');
  assert.is(countryPrefix('GB'), '+44');
  assert.ok(isClinicCountry('PL'));
  assert.not.ok(isClinicCountry('XX'));
  assert.not.ok(isClinicCountry('pl'), 'upper case, as the configs make it');
});

test("numbers are read in the clinic's country and dialled in E.164", () => {
  for (const [number, e164, type] of [
    ['+48601234567', '+48601234567', 'MOBILE'],
    ['601234567', '+48601234567', 'MOBILE'],
    ['0048601234567', '+48601234567', 'MOBILE'],
    ['221234567', '+48221234567', 'FIXED_LINE'],
  ] as const) {
    assert.equal(evaluate(PL, number, 'PL'), { allowed: true, e164, type }, number);
    assert.ok(E164_NUMBER_PATTERN.test(e164));
  }
  // A German clinic reads the same digits as German ones.
  assert.equal(evaluate(defaultPolicy('DE'), '015112345678', 'DE'), {
    allowed: true,
    e164: '+4915112345678',
    type: 'MOBILE',
  });
});

test('refusals say which rule refused, in words', () => {
  const refusal = (policy: OutboundPolicy, number: string) => {
    const verdict = evaluate(policy, number, 'PL');
    return verdict.allowed ? 'allowed' : `${verdict.refusal}: ${verdict.message}`;
  };
  assert.is(
    refusal(PL, '+48701234567'),
    "type-not-allowed: +48701234567 is outside the clinic's callback policy: premium-rate numbers are not allowed.",
  );
  assert.is(
    refusal(PL, '+4915112345678'),
    "not-allowed-prefix: +4915112345678 is outside the clinic's callback policy: only numbers starting with +48 are allowed.",
  );
  assert.is(
    refusal(PL, '*100#'),
    "not-a-number: *100# is outside the clinic's callback policy: service codes (with * or #) are not allowed.",
  );
  assert.is(
    refusal(PL, 'sip:evil'),
    "not-a-number: sip:evil is outside the clinic's callback policy: it is not a phone number.",
  );
  assert.is(
    refusal(PL, '112'),
    "not-a-number: 112 is outside the clinic's callback policy: it is not a possible phone number (too short or too long).",
  );
  assert.is(
    refusal({ ...PL, allowedPrefixes: [] }, '+48601234567'),
    "not-allowed-prefix: +48601234567 is outside the clinic's callback policy: it allows no prefix, so no number can be called back.",
  );
  // A denied prefix wins over an allowed one, whichever is longer.
  assert.match(
    refusal({ ...PL, deniedPrefixes: ['+48'], allowedPrefixes: ['+48', '+4860'] }, '+48601234567'),
    /^denied-prefix: .*numbers starting with \+48 are not allowed\.$/,
  );
  assert.match(refusal({ ...PL, allowedTypes: ['PREMIUM_RATE'] }, '+48601234567'), /mobile numbers are not allowed/);
  assert.is(refusal({ ...PL, allowedTypes: [...PL.allowedTypes, 'PREMIUM_RATE'] }, '+48701234567'), 'allowed');
});

test('a policy is checked and tidied before it is stored', () => {
  assert.is(policyProblem(PL), undefined);
  assert.match(policyProblem({ ...PL, allowedPrefixes: ['+48', '48'] }) ?? '', /"48" is not an E\.164 prefix/);
  assert.match(policyProblem({ ...PL, deniedPrefixes: ['+0'] }) ?? '', /"\+0" is not an E\.164 prefix/);
  assert.match(policyProblem({ ...PL, maxCallbacksPerDay: 1.5 }) ?? '', /whole number/);
  assert.match(policyProblem({ ...PL, maxDurationSeconds: 4 }) ?? '', /from 5 seconds to 24 hours/);
  assert.equal(
    tidyPolicy({ ...PL, allowedPrefixes: ['+48', '+420', '+48'], allowedTypes: ['MOBILE', 'FIXED_LINE', 'MOBILE'] }),
    {
      ...PL,
      allowedPrefixes: ['+420', '+48'],
      allowedTypes: ['FIXED_LINE', 'MOBILE'],
    },
  );
});

test.run();
