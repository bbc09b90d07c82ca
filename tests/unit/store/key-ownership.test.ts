/**
 * @deskline/store owns every Redis key and every Lua script (store/README.md): no source file outside
 * store/ may hold Lua (`redis.call(`) or spell a key, stream or channel by hand. The spellings looked
 * for come from the store's own tables, so a key added there is guarded at once.
 *
 * Scanned: every TypeScript file of every package's sources, and tests/helpers (test setup shared by
 * many tests, which should reach Redis through the store like the services). The tests themselves are
 * not scanned: a test may write a key by hand to set up or to check what the store did. Comment lines
 * are skipped: prose may name the key it talks about.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisChannels, RedisKeys, RedisStreams } from '@deskline/store';
import { REPO_ROOT } from '../../helpers/launcher.js';

const SOURCES = [
  'protocol/src',
  'env-config/src',
  'outbound-policy/src',
  'signaling/src',
  'sip/src',
  'web/src',
  'scripts/src',
  'bench',
  'tests/helpers',
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : tsFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

const COMMENT = /^\s*(\/\/|\/\*|\*)/;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SENTINEL = '\u0000';

/**
 * A key function's fixed start (`agent:` of `agent:<userId>`) is looked for as a quoted literal that
 * goes on with an interpolation or ends there; a fixed name with a colon (`agents:idle`) as itself.
 * Fixed names without a colon (`users`, `callbacks`) are words the code uses for other things too.
 */
function spellings(): { name: string; pattern: RegExp }[] {
  const quote = `['"\`]`;
  const fixed = [...Object.entries(RedisKeys), ...Object.entries(RedisStreams), ...Object.entries(RedisChannels)];
  return fixed.flatMap(([name, key]) => {
    if (typeof key === 'function') {
      const prefix = key(SENTINEL, SENTINEL).split(SENTINEL)[0] ?? '';
      return [{ name, pattern: new RegExp(`${quote}${escape(prefix)}(\\$\\{|${quote})`) }];
    }
    return key.includes(':') ? [{ name, pattern: new RegExp(`${quote}${escape(key)}${quote}`) }] : [];
  });
}

test('no file outside store/ holds Lua or spells a Redis key, stream or channel', () => {
  const patterns = [{ name: 'Lua', pattern: /redis\.p?call\(/ }, ...spellings()];
  const files = SOURCES.flatMap((dir) => tsFiles(path.join(REPO_ROOT, dir)));
  assert.ok(files.length > 100, `scanned ${files.length} files`);
  const found = files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, index) =>
        COMMENT.test(line)
          ? []
          : patterns
              .filter(({ pattern }) => pattern.test(line))
              .map(({ name }) => `${path.relative(REPO_ROOT, file)}:${index + 1} (${name}): ${line.trim()}`),
      ),
  );
  assert.equal(found, []);
});

test('the scan would see a key spelled by hand and a script', () => {
  const patterns = spellings();
  const hits = (line: string) => patterns.filter(({ pattern }) => pattern.test(line)).map(({ name }) => name);
  assert.equal(hits('const key = (id: string) => `workstation:${id}`;'), ['workstation']);
  assert.equal(hits("redis.zadd('agents:idle', now, userId)"), ['idleAgents']);
  assert.equal(hits("redis.xadd('stream:team-events', '*')"), ['teamEvents']);
  assert.equal(hits("log.info('agent: ready')"), []);
});

test.run();
