/**
 * A contact's name goes into the ring's From display name (docs/call-path.md): whatever an employee
 * typed into a contact must not break out of the quoted string into a header of its own, or into the
 * URI. Each hostile name is cleaned, and the From header built from it parses as one name-addr.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Grammar } from 'sip.js/lib/core/index.js';
import { callerDisplayName } from '@deskline/sip/sip/sip-stack';

function fromHeader(name: string): { displayName: string; user: string | undefined } {
  const parsed = Grammar.nameAddrHeaderParse(`"${name}" <sip:+48601234567@clinic.example>;tag=a1`);
  assert.ok(parsed, `From with display name ${JSON.stringify(name)} parses`);
  return { displayName: parsed.displayName, user: parsed.uri.user };
}

const HOSTILE = [
  'Anna"\r\nX-Injected: 1',
  'Anna\r\nVia: SIP/2.0/UDP evil.example',
  'Anna" <sip:evil@attacker.example>',
  'back\\slash\\"quote',
  '\u0000nul\u0007bell\u001bescape\u007fdel',
  'A'.repeat(500),
];

test('a hostile contact name stays one quoted display name: no quote, backslash, CR, LF or control character left, at most 64 characters', () => {
  for (const name of HOSTILE) {
    const clean = callerDisplayName(name);
    assert.ok(clean !== undefined, JSON.stringify(name));
    assert.not.match(clean, /["\\\r\n\x00-\x1f\x7f]/, `${JSON.stringify(name)} → ${JSON.stringify(clean)}`);
    assert.ok(clean.length <= 64, `${clean.length} characters`);
    const from = fromHeader(clean);
    assert.is(from.displayName, clean);
    assert.is(from.user, '+48601234567', 'the caller stays the patient number');
  }
});

test("a patient's real name keeps its letters (Polish diacritics, spaces, apostrophes); nothing left means the number is shown", () => {
  assert.is(callerDisplayName("  Łucja Żółw-O'Brien  "), "Łucja Żółw-O'Brien");
  assert.is(fromHeader("Łucja Żółw-O'Brien").displayName, "Łucja Żółw-O'Brien");
  assert.is(callerDisplayName('"\r\n"'), undefined);
  assert.is(callerDisplayName(undefined), undefined);
});

test.run();
