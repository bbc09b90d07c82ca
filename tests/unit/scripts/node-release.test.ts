/**
 * One Node.js for the whole project: scripts/node-release (what the host runs, through bootstrap.sh
 * and with-node.sh) agrees with the images' FROM lines, package.json's engines and @types/node, the
 * lockfile and the README; and the launcher's and test runner's start-up check refuses an older Node.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeRuntimeCheck, readNodeRelease } from '@deskline/scripts/node-release';
import { REPO_ROOT } from '../../helpers/launcher.js';

const release = readNodeRelease();
const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');

test('scripts/node-release names an exact release and the sha512 of its npm tarball', () => {
  assert.match(release.version, /^\d+\.\d+\.\d+$/);
  assert.is(release.major, Number(release.version.split('.')[0]));
  assert.ok(release.major >= 26, 'Node 26 is the Active LTS (Node 20 reached its end of life in April 2026)');
  assert.match(release.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
});

test('every node image in deploy/ is FROM node:<that major>, and there is at least one', () => {
  const froms = readdirSync(path.join(REPO_ROOT, 'deploy'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      readdirSync(path.join(REPO_ROOT, 'deploy', entry.name))
        .filter((f) => f.startsWith('Dockerfile'))
        .map((f) => `deploy/${entry.name}/${f}`),
    )
    .flatMap((file) => [...read(file).matchAll(/^FROM\s+node:(\S+)/gm)].map((m) => `${file}: node:${m[1]}`));
  assert.ok(froms.length >= 3, froms.join('\n'));
  for (const from of froms) assert.match(from, new RegExp(`: node:${release.major}-bookworm-slim$`), from);
});

test('package.json, its lockfile and the README ask for that major', () => {
  const pkg = JSON.parse(read('package.json')) as {
    engines: { node: string };
    devDependencies: Record<string, string>;
  };
  assert.is(pkg.engines.node, `>=${release.major}`);
  assert.match(pkg.devDependencies['@types/node'] ?? '', new RegExp(`^${release.major}\\.`));
  const lock = JSON.parse(read('package-lock.json')) as {
    packages: Record<string, { version?: string; engines?: { node: string } }>;
  };
  assert.is(lock.packages['']?.engines?.node, pkg.engines.node);
  assert.is(lock.packages['node_modules/@types/node']?.version, pkg.devDependencies['@types/node']);
  const readme = read('README.md');
  assert.ok(readme.includes(`On Debian 12 with any Node.js and npm`), 'the README says what the two commands need');
  assert.ok(readme.includes(`Node.js ${release.version}`), `the README names the release the two commands run on`);
  assert.not.match(readme, /Node\.js 20 or later/);
});

test('the start-up check: an older major is refused with the wrapper to use; that major or newer is named in one line', () => {
  const old = nodeRuntimeCheck('node tests/dist/run.js', { version: 'v20.20.2', execPath: '/usr/bin/node' }, release);
  assert.not.ok(old.ok);
  if (!old.ok) {
    assert.match(old.error, /this is v20\.20\.2 \(\/usr\/bin\/node\)/);
    assert.ok(old.error.includes('`bash scripts/with-node.sh node tests/dist/run.js`'), old.error);
  }
  const previous = nodeRuntimeCheck('x', { version: `v${release.major - 1}.99.0`, execPath: '/n' }, release);
  assert.not.ok(previous.ok, 'the previous major is refused');
  for (const version of [`v${release.major}.0.0`, `v${release.version}`, `v${release.major + 1}.1.0`]) {
    const check = nodeRuntimeCheck('x', { version, execPath: '/opt/node/bin/node' }, release);
    assert.equal(check, { ok: true, line: `Node.js ${version} (/opt/node/bin/node)` });
  }
});

test('a node-release without its integrity, or with a range instead of a version, is refused', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-node-release-'));
  try {
    const file = path.join(dir, 'node-release');
    writeFileSync(file, `NODE_VERSION=${release.version}\n`);
    assert.throws(() => readNodeRelease(file), /NODE_INTEGRITY/);
    writeFileSync(file, `NODE_VERSION=${release.major}\nNODE_INTEGRITY=${release.integrity}\n`);
    assert.throws(() => readNodeRelease(file), /NODE_VERSION/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
