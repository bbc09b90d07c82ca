import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressOf, describeWait, retryAfterSeconds } from '@deskline/signaling/services/login-limiter';

test('IPv4 addresses are kept whole; IPv4-mapped IPv6 is the IPv4 address', () => {
  assert.is(addressOf('203.0.113.7'), '203.0.113.7');
  assert.is(addressOf('::ffff:203.0.113.7'), '203.0.113.7');
});

test('IPv6 addresses are limited by their /64, however they are spelled', () => {
  assert.is(addressOf('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.is(addressOf('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
  assert.is(addressOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.is(addressOf('::1'), '0:0:0:0::/64');
  assert.is(addressOf('fe80::'), 'fe80:0:0:0::/64');
});

test('waits read naturally and Retry-After is never 0', () => {
  assert.is(describeWait(1), '1 second');
  assert.is(describeWait(1000), '1 second');
  assert.is(describeWait(1001), '2 seconds');
  assert.is(describeWait(59_000), '59 seconds');
  assert.is(describeWait(60_000), '1 minute');
  assert.is(describeWait(900_000), '15 minutes');
  assert.is(retryAfterSeconds(1), '1');
  assert.is(retryAfterSeconds(1999), '2');
});

test.run();
