/**
 * The README's "Place a test call", as a tester runs it: sipp's built-in uac scenario and baresip
 * with the repository's baresip folder, each calling the clinic number through Kamailio.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../../helpers/wait.js';
import { CLINIC_NUMBER, activeCallIds, recordedStates, startCallPath, type CallPath } from '../../helpers/call-path.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const test = suite<{ path: CallPath }>("testers' path");

test.before(async (context) => {
  // A keepalive every second: the testers' clients must answer it, as the README's commands make them.
  context.path = await startCallPath({ appEnv: { PATIENT_KEEPALIVE_SECONDS: '1' } });
});

test.after(async (context) => {
  await context.path?.stop();
});

function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function lastCallStates(path: CallPath, before: Set<string>): Promise<string[]> {
  const ids = await path.redis.xrange('stream:call-events', '-', '+');
  const mine = ids
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { call?: { id: string } })
    .map((e) => e.call?.id)
    .filter((id): id is string => id !== undefined && !before.has(id));
  const id = mine[mine.length - 1];
  return id ? recordedStates(path.redis, id) : [];
}

/** Why the sip app ended the last call: the patient hung up, not a keepalive that went unanswered. */
async function lastCallEndReason(path: CallPath, before: Set<string>): Promise<unknown> {
  const ids = await path.redis.xrange('stream:call-events', '-', '+');
  const mine = ids
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { call?: { id: string } })
    .map((e) => e.call?.id)
    .filter((id): id is string => id !== undefined && !before.has(id));
  const id = mine[mine.length - 1];
  const ended = await path.app.waitForLog(
    'the call to end',
    (line) => line.msg === 'call ended' && line['callId'] === id,
  );
  return ended['reason'];
}

async function knownCallIds(path: CallPath): Promise<Set<string>> {
  const entries = await path.redis.xrange('stream:call-events', '-', '+');
  return new Set(
    entries.map(([, fields]) => (JSON.parse(fields[1] ?? '{}') as { call?: { id: string } }).call?.id ?? ''),
  );
}

test('sipp -sn uac -aa calls the clinic number, is answered, answers the keepalives, and hangs up cleanly', async ({
  path,
}) => {
  const before = await knownCallIds(path);
  // Without -aa, sipp's built-in uac takes the keepalive OPTIONS for an error and aborts the call.
  const result = await run(
    'sipp',
    [
      '-sn',
      'uac',
      `127.0.0.1:${path.kamailioPort}`,
      '-s',
      CLINIC_NUMBER,
      '-m',
      '1',
      '-d',
      '3500',
      '-aa',
      '-i',
      '127.0.0.1',
      '-nostdin',
      '-timeout',
      '20s',
    ],
    os.tmpdir(),
    30_000,
  );
  assert.is(result.code, 0, result.output.slice(-2000));
  await waitFor('no call left active', async () => (await activeCallIds(path.redis)).length === 0);
  const states = await lastCallStates(path, before);
  assert.equal(states.slice(0, 1), ['intro'], `states: ${states.join(', ')}`);
  assert.is(states[states.length - 1], 'abandoned');
  assert.is(await lastCallEndReason(path, before), 'patient-hung-up');
});

test("baresip with the repository's config is answered and receives the queue's audio", async ({ path }) => {
  // baresip writes into its folder; use a copy, with the media path made absolute.
  const dir = mkdtempSync(path_join(os.tmpdir(), 'deskline-baresip-'));
  try {
    cpSync(path_join(REPO_ROOT, 'pbx-config/test-clients/baresip'), dir, { recursive: true });
    const config = path_join(dir, 'config');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace('aufile,pbx-config/', `aufile,${REPO_ROOT}/pbx-config/`),
    );
    const before = await knownCallIds(path);
    const result = await run(
      'baresip',
      ['-f', dir, '-e', `/dial sip:${CLINIC_NUMBER}@127.0.0.1:${path.kamailioPort}`, '-t', '6'],
      REPO_ROOT,
      30_000,
    );
    assert.match(result.output, /Call established/, result.output.slice(-2000));
    assert.match(result.output, /incoming rtp for 'audio' established/, 'the patient hears the queue');
    await waitFor('no call left active', async () => (await activeCallIds(path.redis)).length === 0, 10_000);
    const states = await lastCallStates(path, before);
    assert.is(states[0], 'intro', `states: ${states.join(', ')}`);
    assert.is(await lastCallEndReason(path, before), 'patient-hung-up', 'baresip answered the keepalives');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const path_join = path.join;

test.run();
