/**
 * Runs every compiled test file (tests/dist/{unit,integration,security,e2e,deploy}/**\/*.test.js) in its own Node
 * process, so that one file's servers or browser cannot leak into the next, and ends with the
 * summary line "N passed, N failed". A skipped test fails the run: it proves nothing.
 *
 * Usage: bash scripts/with-node.sh node tests/dist/run.js [substring ...]   (only files whose path
 * contains a substring). It says which Node runs the tests (each file runs on the same one, and so
 * does every process a test starts with process.execPath or `node`), and refuses one older than
 * scripts/node-release's major.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeRuntimeCheck } from '@deskline/scripts/node-release';

const distDir = path.dirname(fileURLToPath(import.meta.url));
/** deploy last: it runs the Compose stack on a real Docker engine, on the guide's fixed ports. */
const LAYERS = ['unit', 'integration', 'security', 'e2e', 'deploy'];
const FILE_TIMEOUT_MS = 10 * 60_000;
/**
 * A file whose uvu summary is out but whose process is still there has something left open (a
 * socket, a child, a timer), typically after a failure skipped its cleanup: it is killed this long
 * after the summary rather than at FILE_TIMEOUT_MS, and counts as failed as a timeout does.
 */
const EXIT_AFTER_SUMMARY_MS = 60_000;
/**
 * A deploy test builds the images: from a cold cache on a fresh machine (CI) that is the Debian
 * base-image stand-ins, every Debian package of five images, and npm ci twice with argon2 compiled
 * from source, before and during the upgrade. Warm it takes under 10 minutes; the limit is for the
 * cold run on a loaded 2-core machine.
 */
const DEPLOY_FILE_TIMEOUT_MS = 40 * 60_000;

function timeoutFor(file: string): number {
  return file.startsWith(path.join(distDir, 'deploy') + path.sep) ? DEPLOY_FILE_TIMEOUT_MS : FILE_TIMEOUT_MS;
}

function findTests(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return findTests(full);
    return entry.endsWith('.test.js') ? [full] : [];
  });
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
}

const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

function count(output: string, label: string): number {
  const match = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm');
  let total = 0;
  for (const m of output.matchAll(match)) total += Number(m[1]);
  return total;
}

function runFile(file: string): Promise<FileResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    let exitTimer: NodeJS.Timeout | undefined;
    const collect = (chunk: Buffer, sink: NodeJS.WriteStream): void => {
      output += chunk.toString();
      sink.write(chunk);
      if (exitTimer === undefined && /^\s*Duration:/m.test(stripAnsi(output))) {
        exitTimer = setTimeout(() => {
          process.stderr.write(
            `\n${file}: reported its results but did not exit within ${EXIT_AFTER_SUMMARY_MS / 1000} s (something left open); killed.\n`,
          );
          child.kill('SIGKILL');
        }, EXIT_AFTER_SUMMARY_MS);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, process.stdout));
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, process.stderr));
    const timeoutMs = timeoutFor(file);
    const timer = setTimeout(() => {
      process.stderr.write(`\n${file}: still running after ${timeoutMs / 60_000} minutes; killed.\n`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(exitTimer);
      const text = stripAnsi(output);
      const total = count(text, 'Total');
      const passed = count(text, 'Passed');
      const skipped = count(text, 'Skipped');
      let failed = total - passed - skipped;
      // A file that crashed, or exited non-zero without reporting a failure, is one failure.
      if (code !== 0 && failed === 0) failed = 1;
      if (total === 0 && failed === 0) failed = 1;
      resolve({ file, passed, failed, skipped });
    });
  });
}

const node = nodeRuntimeCheck('node tests/dist/run.js');
if (!node.ok) {
  console.error(node.error);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`tests run on ${node.line}`);

const filters = process.argv.slice(2);
const files = LAYERS.flatMap((layer) => findTests(path.join(distDir, layer))).filter(
  (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
);
if (files.length === 0) {
  console.error('No test files found. Run `npm run build` first.');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const results: FileResult[] = [];
for (const file of files) {
  const relative = path.relative(distDir, file);
  console.log(`\n=== ${relative}`);
  results.push({ ...(await runFile(file)), file: relative });
}

const sum = (key: 'passed' | 'failed' | 'skipped'): number => results.reduce((n, r) => n + r[key], 0);
const failedFiles = results.filter((r) => r.failed > 0 || r.skipped > 0);
console.log('');
for (const r of failedFiles) console.log(`  not passing: ${r.file} (${r.failed} failed, ${r.skipped} skipped)`);
const skipped = sum('skipped');
console.log(`${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failedFiles.length > 0 ? 1 : 0);
