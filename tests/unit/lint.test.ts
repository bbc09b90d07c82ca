/**
 * The linter and the formatter in npm test, over every package, so that style is never a review
 * comment: what `npm run lint` checks (eslint.config.js, prettier.config.js), and `npm run format`
 * mends most of.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../helpers/launcher.js';

const run = promisify(execFile);
const { workspaces } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  workspaces: string[];
};

test('ESLint finds no problem in any package', async () => {
  const results = await new ESLint({ cwd: REPO_ROOT }).lintFiles(['.']);
  const linted = new Set(results.map((r) => path.relative(REPO_ROOT, r.filePath).split(path.sep)[0]));
  for (const pkg of workspaces) assert.ok(linted.has(pkg), `ESLint looked at no file of ${pkg}/`);
  const problems = results.flatMap((r) =>
    r.messages.map(
      (m) => `${path.relative(REPO_ROOT, r.filePath)}:${m.line}:${m.column} ${m.message} (${m.ruleId ?? 'parse'})`,
    ),
  );
  assert.ok(problems.length === 0, `npm run format fixes some of these:\n${problems.join('\n')}`);
});

// Through Prettier's own command line, not its API: the API formats one text at a time, and the
// command line is what picks the files (.gitignore, .prettierignore) for `npm run lint`.
test("every file has Prettier's layout", async () => {
  const prettier = createRequire(import.meta.url).resolve('prettier/bin/prettier.cjs');
  const checked = await run(process.execPath, [prettier, '--list-different', '.'], { cwd: REPO_ROOT }).then(
    () => '',
    (error: { code?: number; stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );
  assert.is(checked, '', `npm run format lays these out:\n${checked}`);
});

test.run();
