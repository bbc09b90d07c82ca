import argon2 from 'argon2';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  hashPassword,
  needsRehash,
  passwordProblem,
  verifyAgainstDummy,
  verifyPassword,
} from '@deskline/signaling/services/passwords';
import { commonPasswordCount, isCommonPassword } from '@deskline/signaling/services/common-passwords';

test('hashes are argon2id with m=19456 KiB, t=2, p=1 and a random salt', async () => {
  const first = await hashPassword('correct horse battery staple');
  const second = await hashPassword('correct horse battery staple');
  assert.match(first, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  assert.is.not(first, second, 'two hashes of one password differ by their salt');
  assert.not.match(first, /correct horse/);
});

test('verify accepts the password and refuses any other', async () => {
  const hash = await hashPassword('correct horse battery staple');
  assert.is(await verifyPassword(hash, 'correct horse battery staple'), true);
  assert.is(await verifyPassword(hash, 'correct horse battery stapl'), false);
  assert.is(await verifyPassword(hash, ''), false);
});

test('a damaged stored hash is a refusal, not a crash', async () => {
  assert.is(await verifyPassword('not-a-hash', 'anything at all'), false);
  assert.is(await verifyPassword('$argon2id$v=19$m=19456,t=2,p=1$broken', 'anything at all'), false);
});

test('the dummy verification for unknown emails always refuses', async () => {
  assert.is(await verifyAgainstDummy('deskline-dummy-password-for-timing'), false);
});

test('hashes made with weaker parameters are marked for rehashing', async () => {
  const weak = await argon2.hash('correct horse battery staple', {
    type: argon2.argon2id,
    memoryCost: 4096,
    timeCost: 1,
    parallelism: 1,
  });
  assert.is(needsRehash(weak), true);
  assert.is(needsRehash(await hashPassword('correct horse battery staple')), false);
});

test('passwords are 12 to 128 characters, counted as characters, with no composition rules', () => {
  assert.is(passwordProblem('a'.repeat(11)), 'The password must be at least 12 characters long.');
  assert.is(passwordProblem('a'.repeat(12)), undefined);
  assert.is(passwordProblem('all lowercase words'), undefined);
  assert.is(passwordProblem('a'.repeat(128)), undefined);
  assert.is(passwordProblem('a'.repeat(129)), 'The password must be at most 128 characters long.');
  assert.is(passwordProblem('😀'.repeat(12)), undefined, 'twelve emoji are twelve characters');
});

test('a commonly used password is refused in any case; the list is a real one of tens of thousands', () => {
  assert.ok(commonPasswordCount() > 40_000, `the list holds ${commonPasswordCount()}`);
  for (const common of ['password1234', 'Password1234', '123456789012', '1Q2W3E4R5T6Y']) {
    assert.match(passwordProblem(common) ?? '', /most commonly used/, common);
  }
  assert.is(isCommonPassword('PassWord1234'), true);
  assert.is(isCommonPassword('qwerty123456'), true);
  assert.is(isCommonPassword('reception desk at noon'), false);
});

test("a password equal to the account's email, its local part, or the name is refused, ignoring case and spaces around", () => {
  const owner = { email: 'anna.kowalska@clinic.example', displayName: 'Anna Maria Kowalska' };
  assert.match(passwordProblem('ANNA.KOWALSKA@clinic.example', owner) ?? '', /email address or your name/);
  assert.match(passwordProblem('anna.kowalska', owner) ?? '', /email address or your name/);
  assert.match(passwordProblem(' anna maria kowalska ', owner) ?? '', /email address or your name/);
  assert.is(passwordProblem('anna maria kowalska at the desk', owner), undefined, 'containing the name is allowed');
});

test.run();
