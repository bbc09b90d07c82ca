/**
 * The release archive of docs/operations.md (sections 4 and 12): scripts/release.sh packs the
 * committed tree into deskline-<version>.tar.gz with a checksum that `sha256sum -c` accepts, and the
 * archive unpacks into deskline/ with everything compose needs and none of a developer's local state.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '@deskline/scripts/launch-config';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-release-'));
const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const archive = `deskline-${version}.tar.gz`;

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('release.sh makes deskline-<version>.tar.gz and a checksum that sha256sum -c accepts', async () => {
  await run('bash', [path.join(REPO_ROOT, 'scripts/release.sh'), dir]);
  const { stdout } = await run('sha256sum', ['-c', `${archive}.sha256`], { cwd: dir });
  assert.is(stdout.trim(), `${archive}: OK`);
});

test('the archive unpacks into deskline/ with what compose needs, and no local state', async () => {
  const { stdout } = await run('tar', ['-tzf', path.join(dir, archive)], { maxBuffer: 16 * 1024 * 1024 });
  const entries = stdout.split('\n').filter(Boolean);
  assert.ok(
    entries.every((entry) => entry.startsWith('deskline/')),
    'everything under deskline/',
  );
  for (const needed of [
    'docker-compose.yml',
    'docker-compose.scale.yml',
    '.env.example',
    'deploy/',
    'deploy/redis/sentinel.sh',
    'pbx-config/kamailio/kamailio.cfg',
    'docs/operations.md',
    'docs/scaling.md',
  ]) {
    assert.ok(entries.includes(`deskline/${needed}`), `${needed} is in the archive`);
  }
  assert.not.ok(entries.includes('deskline/.env'), 'no .env (secrets)');
  assert.not.ok(
    entries.some((entry) => entry.includes('node_modules/')),
    'no node_modules',
  );
  const runtime = entries.filter(
    (entry) => entry.startsWith('deskline/var/') && !entry.endsWith('/') && entry !== 'deskline/var/README.md',
  );
  assert.equal(runtime, [], 'no runtime state from var/');
});

test.run();
