import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LaunchConfigError } from '@deskline/scripts/launch-config';
import { redisPassword, redisPasswordFile } from '@deskline/scripts/secrets';

const made: string[] = [];
const varDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-secrets-'));
  made.push(dir);
  return dir;
};

test.after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

test("the launcher's Redis password is generated once, 64 hex digits, readable by its owner only, and the same at the next start", () => {
  const dir = varDir();
  const first = redisPassword({}, dir);
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.is(statSync(redisPasswordFile(dir)).mode & 0o777, 0o600);
  assert.is(statSync(path.dirname(redisPasswordFile(dir))).mode & 0o777, 0o700);
  assert.is(redisPassword({}, dir), first);
  assert.is(readFileSync(redisPasswordFile(dir), 'utf8'), `${first}\n`);
});

test("REDIS_PASSWORD wins over the file; one that a URL or Kamailio's spec would mangle is refused, naming the variable", () => {
  const dir = varDir();
  assert.is(redisPassword({ REDIS_PASSWORD: 'a1'.repeat(16) }, dir), 'a1'.repeat(16));
  for (const bad of [
    'short',
    'with space in it 1234',
    'semi;colon;password1',
    'at@sign@password1234',
    'quote"password1234567',
  ]) {
    assert.throws(
      () => redisPassword({ REDIS_PASSWORD: bad }, dir),
      (err: unknown) => err instanceof LaunchConfigError && /REDIS_PASSWORD/.test(err.message),
      bad,
    );
  }
});

test.run();
