/**
 * docs/operations.md as the tests read it: its sections, the shell blocks clinic IT types, and the
 * `deskline` commands it prints. One reading for both tests that hold the guide to its word: the
 * word-for-word checks (tests/integration/deploy/operations-guide.test.ts) and the run on a real
 * Docker engine (tests/deploy/compose-engine.test.ts), which types these same blocks.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@deskline/scripts/launch-config';

export const guide = readFileSync(path.join(REPO_ROOT, 'docs/operations.md'), 'utf8');

/** The text of section `number` ("## 4. Get Deskline …"), up to the next section. */
export function guideSection(number: number): string {
  const start = guide.indexOf(`\n## ${number}. `);
  if (start < 0) throw new Error(`docs/operations.md has no section ${number}`);
  const end = guide.indexOf('\n## ', start + 1);
  return guide.slice(start, end < 0 ? undefined : end);
}

/** The ```sh blocks of a section, in order, as typed. */
export function shellBlocks(section: number): string[] {
  return [...guideSection(section).matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** The one shell block of `section` that contains `marker` (fails when none or several do). */
export function shellBlock(section: number, marker: string): string {
  const blocks = shellBlocks(section).filter((block) => block.includes(marker));
  if (blocks.length !== 1)
    throw new Error(`docs/operations.md section ${section}: ${blocks.length} shell blocks contain "${marker}"`);
  return blocks[0] ?? '';
}

/** How the guide runs the command-line tool; `-T` and a piped password are its form for scripts. */
export const CLI_PREFIX = 'docker compose exec signaling node signaling/dist/cli.js ';

/** The guide's `deskline` command lines, in order, as printed after the prefix (without "…" examples). */
export function cliLines(): string[] {
  const lines = [
    ...guide.matchAll(/docker compose exec(?: -T)? signaling node signaling\/dist\/cli\.js ([^`\n]+)/g),
  ].map((m) => (m[1] ?? '').trim());
  return lines.filter((line) => !line.includes('…'));
}

/** A command line split into arguments as a shell would (double quotes honoured). */
export function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** A command the guide prints inline (`…`) in `section`, such as a table cell's, with a table's `\|` as `|`. */
export function inlineCommand(section: number, marker: string): string {
  const commands = [...guideSection(section).matchAll(/`([^`\n]+)`/g)]
    .map((m) => (m[1] ?? '').replaceAll('\\|', '|'))
    .filter((c) => c.includes(marker));
  if (commands.length !== 1)
    throw new Error(`docs/operations.md section ${section}: ${commands.length} inline commands contain "${marker}"`);
  return commands[0] ?? '';
}

/**
 * The guide's blocks that the engine run (tests/deploy/compose-engine.test.ts) types, each found by a
 * marker in one shell block of its section; `replace` lists the examples the guide tells the reader
 * to replace, which the run replaces. The word-for-word test checks each is there, once.
 */
export const ENGINE_RUN = {
  extract: { section: 4, marker: 'sha256sum -c', replace: [] },
  secrets: { section: 4, marker: 'openssl rand -hex 32', replace: [] },
  config: { section: 4, marker: 'config -q', replace: [] },
  up: { section: 5, marker: 'up -d --build', replace: [] },
  ps: { section: 5, marker: 'docker compose ps', replace: [] },
  manager: { section: 6, marker: '--role manager', replace: [] },
  userList: { section: 6, marker: 'user list', replace: [] },
  staff: { section: 7, marker: '--kind browser', replace: [] },
  backup: { section: 11, marker: 'mkdir -p backups', replace: [] },
  restore: { section: 11, marker: 'deskline-redis-restore', replace: ['deskline-2026-01-31.rdb'] },
  upgrade: { section: 12, marker: 'deskline-previous', replace: ['<new version>', 'docker compose build --pull'] },
  down: { section: 15, marker: 'docker compose down', replace: [] },
} as const satisfies Record<string, { section: number; marker: string; replace: readonly string[] }>;

export type EngineRunStep = keyof typeof ENGINE_RUN;

/** The block of one engine-run step, as the guide prints it. */
export function engineRunBlock(step: EngineRunStep): string {
  const { section, marker } = ENGINE_RUN[step];
  return shellBlock(section, marker);
}

/** Section 14's "callers waiting" command, in a table cell. */
export const CALLERS_WAITING = { section: 14, marker: 'ZCARD calls:waiting' } as const;
