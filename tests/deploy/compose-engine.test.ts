/**
 * The Compose deployment on a real Docker engine, following docs/operations.md as clinic IT would:
 * the guide's own shell blocks, read from the guide (tests/helpers/operations-guide.ts) and typed as
 * they stand, with only what the guide says to replace replaced (/opt, the example file names and
 * versions, `docker-compose` for `docker compose`, which the guide allows for Debian's packages).
 *
 * The release archive, its checksum, .env from .env.example with the guide's sed lines and the five
 * required lines filled in for this machine's loopback, `config -q`, `up -d --build`, every service
 * healthy within 2 minutes; the first manager, an employee and a browser workstation from the
 * command-line tool as printed; Chromium logs in through Caddy (HTTPS, `tls internal`), picks the
 * workstation and answers a patient that sipp sends to Kamailio's port, with audio checked both ways;
 * a backup, and a restore on the real volume; an upgrade to a second release with a patient on hold
 * music, who stays on the line (the gap in the music is measured) and is answered after it; `down`.
 *
 * Docker Hub is not reachable from this machine kind: the base images are stand-ins built locally and
 * cached (tests/deploy/base-images.sh); the engine is the running one, or one the test starts
 * (tests/helpers/docker-engine.ts). Each step prints its time; docs/operations.md's "Tested" note
 * gives the figures.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { installAudioProbe, measureElementAudio, waitForElementAudio } from '../helpers/audio-probe.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { useDockerEngine, type DockerEngine } from '../helpers/docker-engine.js';
import { CALLERS_WAITING, CLI_PREFIX, engineRunBlock, inlineCommand } from '../helpers/operations-guide.js';
import { PATIENT_NUMBER } from '../helpers/patient-line.js';
import { RtpCapture, analysePcmu, type CapturedRtp } from '../helpers/rtp-capture.js';
import { describeSipp, runSipp, type SippResult } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

const SERVICES = ['redis', 'rtpengine', 'kamailio', 'sip', 'signaling', 'caddy'];
/** What a patient call and a media change must not restart (issue 13 is about restarting them). */
const MEDIA_SERVICES = ['kamailio', 'rtpengine'];
const HOSTNAME = 'deskline.localhost';
const CLINIC_NUMBER = '100';
/** The guide's acceptance: every service healthy within 2 minutes of the start. */
const HEALTHY_WITHIN_MS = 120_000;
const PASSWORD = 'a long clinic passphrase 2026';
const EMPLOYEE = 'anna@clinic.example';
const PATIENT_HZ = 600;
const MICROPHONE_HZ = 1400;
const UI_TIMEOUT = 30_000;
/** A build from cold (Debian packages, npm ci with argon2 built from source, tsc, the web bundle). */
const BUILD_TIMEOUT = 30 * 60_000;
/** The guide's ports on this server; the stack cannot start while something else holds one. */
const TCP_PORTS = [6379, 5060, 5066, 5070, 5071, 8080, 2019, 2080];
const TCP_PORTS_ALL_ADDRESSES = [80, 443];
const UDP_PORTS = [5060, 22222];
const MEDIA_PORTS = { min: 30000, max: 30999 };

const run = new Map<string, number>();
let engine: DockerEngine;
let work: string;
let opt: string;
let bin: string;
let standIns = false;
let browser: TestBrowser | undefined;
let page: Page | undefined;
const sippCalls: Array<Promise<SippResult>> = [];
/** Ends every patient's sipp at the end, also after a failure (their own timeout is the build's). */
const hangUpAll = new AbortController();
const captures: RtpCapture[] = [];
const oldImages: string[] = [];

/** Runs `fn` as one step of the procedure and prints how long it took. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    const seconds = (Date.now() - started) / 1000;
    run.set(name, seconds);
    console.log(`  step ${name}: ${seconds.toFixed(1)} s`);
  }
}

interface Shell {
  code: number | null;
  output: string;
}

/** Runs a shell script (bash, stopping at the first failing command) with the engine's environment. */
function shell(
  script: string,
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Shell> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: options.cwd ?? work,
      env: { ...engine.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timeoutMs = options.timeoutMs ?? 5 * 60_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs a script and fails with its output when it fails (and the stack's state, if there is one); returns the output. */
async function typed(script: string, options: Parameters<typeof shell>[1] = {}): Promise<string> {
  const result = await shell(script, options);
  if (result.code === 0) return result.output;
  let state = '';
  if (existsSync(nodePath.join(deskline(), '.env'))) {
    const ps = await shell('docker-compose ps && docker-compose logs --tail=15 --no-color', {
      cwd: deskline(),
      timeoutMs: 60_000,
    });
    state = `\n--- docker-compose ps and logs\n${ps.output.slice(-8000)}`;
  }
  throw new Error(`exit ${result.code}:\n${script}\n--- output\n${result.output.slice(-4000)}${state}`);
}

/**
 * A shell block of the guide as this test types it: `docker-compose` for `docker compose` (Debian's
 * package, as the guide allows), this run's folder for /opt, and the guide's form for scripts for the
 * command-line tool (`exec -T`, the password on standard input).
 */
function asTyped(block: string, replacements: Array<[string, string]> = []): string {
  let script = block
    .split('\n')
    .map((line) =>
      line.startsWith(CLI_PREFIX)
        ? `printf '%s\\n' "$PASSWORD" | ${line.replace('docker compose exec', 'docker compose exec -T')}`
        : line,
    )
    .join('\n');
  for (const [from, to] of replacements) {
    assert.ok(script.includes(from), `the guide's block still says ${from}:\n${block}`);
    script = script.replaceAll(from, to);
  }
  return script.replaceAll('docker compose', 'docker-compose').replace(/(^|[\s=])\/opt\b/gm, `$1${opt}`);
}

function deskline(): string {
  return nodePath.join(opt, 'deskline');
}

/** The one line of a guide block that contains `marker`. */
function lineOf(block: string, marker: string): string {
  const line = block.split('\n').find((l) => l.includes(marker));
  if (!line) throw new Error(`no line with "${marker}" in:\n${block}`);
  return line;
}

async function assertTcpFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () =>
      reject(
        new Error(
          `port ${port}/tcp on ${host} is in use: the stack needs it (docs/operations.md, section 1). Stop what holds it (ss -ltnp | grep :${port}).`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

async function assertUdpFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      reject(
        new Error(
          `port ${port}/udp on 127.0.0.1 is in use: the stack needs it (docs/operations.md, section 1). Stop what holds it (ss -lunp | grep :${port}).`,
        ),
      );
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve()));
  });
}

/** The ids of the stack's containers, by service. */
async function containerIds(): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const service of SERVICES)
    ids[service] = (await typed(`docker-compose ps -q ${service}`, { cwd: deskline() })).trim();
  return ids;
}

/**
 * Waits until `docker compose ps` (the guide's command) shows every service healthy, and fails unless
 * that came within 2 minutes of the start of the first container started since `since` (Docker's
 * StartedAt, so the time an `up` spends building is not counted). Returns the output.
 */
async function everyServiceHealthy(what: string, since: number): Promise<string> {
  const ps = asTyped(lineOf(engineRunBlock('ps'), 'docker compose ps'));
  let last = '';
  try {
    await waitFor(
      'every service healthy in docker compose ps',
      async () => {
        last = await typed(ps, { cwd: deskline() });
        return SERVICES.every((service) => new RegExp(`^deskline[-_]${service}[-_]1 .*\\(healthy\\)`, 'm').test(last));
      },
      HEALTHY_WITHIN_MS,
    );
  } catch (error) {
    const logs = await shell('docker-compose logs --tail=30', { cwd: deskline() });
    throw new Error(`${(error as Error).message}\n${last}\n--- logs\n${logs.output.slice(-8000)}`);
  }
  const healthyAt = Date.now();
  const started = await typed(`docker inspect --format '{{.State.StartedAt}}' $(docker-compose ps -q)`, {
    cwd: deskline(),
  });
  const firstStart = Math.min(
    ...started
      .trim()
      .split('\n')
      .map((line) => Date.parse(line))
      .filter((at) => at >= since - 1000),
  );
  const ms = healthyAt - firstStart;
  console.log(`  ${what}: every service healthy ${(ms / 1000).toFixed(1)} s after the first container it started`);
  assert.ok(ms < HEALTHY_WITHIN_MS, `${what}: every service healthy only after ${(ms / 1000).toFixed(1)} s`);
  return last;
}

/** The second archive: the same tree with another version, packed by the same release script. */
async function secondRelease(version: string, into: string): Promise<void> {
  const tree = nodePath.join(work, 'next-tree');
  mkdirSync(tree);
  await typed(`tar -xzf ${opt}/deskline-*.tar.gz -C ${tree} --strip-components=1`);
  for (const file of ['package.json', 'package-lock.json']) {
    const json = JSON.parse(readFileSync(nodePath.join(tree, file), 'utf8')) as {
      version: string;
      packages?: Record<string, { version?: string }>;
    };
    json.version = version;
    const root = json.packages?.[''];
    if (root) root.version = version;
    writeFileSync(nodePath.join(tree, file), `${JSON.stringify(json, null, 2)}\n`);
  }
  await typed(
    `git init -q . && git add -A && git -c user.name=release -c user.email=release@clinic.example commit -qm "release ${version}" && bash scripts/release.sh ${into}`,
    { cwd: tree },
  );
}

interface PatientCall {
  capture: RtpCapture;
  sipp: Promise<SippResult>;
  ended(): boolean;
}

/** sipp, as the PBX's patient, dials the clinic number at Kamailio's port and talks until the clinic hangs up. */
async function patientCalls(): Promise<PatientCall> {
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const capture = await RtpCapture.start({ port: mediaPort });
  captures.push(capture);
  let ended = false;
  const sipp = runSipp({
    scenario: nodePath.join(REPO_ROOT, 'tests/sipp/uac-pcmu-answered-expect-bye.xml'),
    remoteHost: '127.0.0.1',
    remotePort: 5060,
    cwd: work,
    timeoutMs: BUILD_TIMEOUT,
    signal: hangUpAll.signal,
    // -aa answers the queue's keepalive OPTIONS while the patient waits.
    extraArgs: ['-s', CLINIC_NUMBER, '-mp', String(mediaPort), '-aa'],
  });
  sippCalls.push(sipp);
  void sipp.then(() => (ended = true));
  return { capture, sipp, ended: () => ended };
}

/** The patient hears the queue: 2 s of packets at about 50 a second, not silent. */
async function hearsHoldMusic(call: PatientCall): Promise<string> {
  const packets = await call.capture.span(Date.now(), 2000, UI_TIMEOUT);
  const music = analysePcmu(packets, []);
  assert.ok(
    music.packetsPerSecond > 42 && music.packetsPerSecond < 58,
    `the patient gets ${music.packetsPerSecond} packets/s on hold`,
  );
  assert.ok(music.rms > 100, `the patient hears silence on hold (RMS ${music.rms})`);
  return `${music.packetsPerSecond.toFixed(1)} packets/s, RMS ${music.rms.toFixed(0)}`;
}

async function logIn(): Promise<Page> {
  assert.ok(browser, 'the browser runs');
  // A fresh login each time: the restore brings back the backup's sessions, this browser's among them.
  await browser.context.clearCookies();
  const p = await browser.context.newPage();
  const problems: string[] = [];
  p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  p.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
  try {
    await p.goto(`https://${HOSTNAME}/`);
    await p.getByLabel('Email').fill(EMPLOYEE);
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Log in' }).click();
    // The panel offers the workstations, or takes the one its user had (the restored backup's).
    const picker = p.getByRole('button', { name: 'Reception 1' });
    const ready = p.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' });
    await picker.or(ready).first().waitFor({ timeout: UI_TIMEOUT });
    if (await picker.isVisible()) await picker.click();
    await ready.waitFor({ timeout: UI_TIMEOUT });
    return p;
  } catch (error) {
    const text = await p
      .locator('body')
      .innerText()
      .catch(() => '');
    const logs = await shell('docker-compose logs --tail=20 kamailio caddy signaling', { cwd: deskline() });
    throw new Error(
      `${(error as Error).message}\n--- the page says\n${text}\n--- the page logged\n${problems.join('\n')}\n--- logs\n${logs.output.slice(-6000)}`,
    );
  }
}

/** The workstation rings with the patient's number; Answer; audio both ways; Hang up; the patient's scenario passes. */
async function answerTalkHangUp(p: Page, call: PatientCall): Promise<string> {
  const incoming = p.getByRole('region', { name: 'Incoming call' });
  await incoming.getByText(PATIENT_NUMBER).waitFor({ timeout: 60_000 });
  await incoming.getByRole('button', { name: 'Answer' }).click();
  const active = p.getByRole('region', { name: 'Call', exact: true });
  await active.getByText('In call').waitFor({ timeout: UI_TIMEOUT });
  const answeredAt = Date.now();

  const audio = p.locator('dl-call-panel audio');
  await waitForElementAudio(audio, 0.02, UI_TIMEOUT);
  const heard = await measureElementAudio(audio, 500);
  assert.ok(heard.rms > 0.02, `the browser hears silence: RMS ${heard.rms}`);
  assert.ok(
    Math.abs(heard.peakHz - PATIENT_HZ) < 30,
    `the browser hears ${heard.peakHz.toFixed(0)} Hz, not the patient's ${PATIENT_HZ} Hz`,
  );

  const first = await call.capture.firstTone(MICROPHONE_HZ, answeredAt, UI_TIMEOUT);
  const fromBrowser = analysePcmu(await call.capture.span(first.at, 2000, UI_TIMEOUT), [MICROPHONE_HZ]);
  assert.ok(
    fromBrowser.packetsPerSecond > 42 && fromBrowser.packetsPerSecond < 58,
    `the patient gets ${fromBrowser.packetsPerSecond} packets/s from the browser`,
  );
  assert.ok(
    (fromBrowser.shares[MICROPHONE_HZ] ?? 0) > 0.8,
    `the browser's tone dominates what the patient hears: ${JSON.stringify(fromBrowser)}`,
  );

  await active.getByRole('button', { name: 'Hang up' }).click();
  const result = await call.sipp;
  assert.is(result.code, 0, describeSipp(result));
  assert.match(result.messages, /^BYE sip:/m, 'the patient got the BYE');
  return (
    `the browser hears RMS ${heard.rms.toFixed(3)} at ${heard.peakHz.toFixed(0)} Hz (the patient's ${PATIENT_HZ} Hz); ` +
    `the patient gets ${fromBrowser.packetsPerSecond.toFixed(1)} packets/s, ${((fromBrowser.shares[MICROPHONE_HZ] ?? 0) * 100).toFixed(1)}% at ${MICROPHONE_HZ} Hz (the browser's microphone)`
  );
}

/** The longest time without a packet at the patient between `from` and `to` (epoch ms). */
function longestGap(
  packets: readonly CapturedRtp[],
  from: number,
  to: number,
): { gapMs: number; at: number; packets: number } {
  const inside = packets.filter((p) => p.at >= from && p.at <= to);
  let gapMs = 0;
  let at = from;
  let previous = from;
  for (const packet of [...inside, { at: to }]) {
    if (packet.at - previous > gapMs) {
      gapMs = packet.at - previous;
      at = previous;
    }
    previous = packet.at;
  }
  return { gapMs, at, packets: inside.length };
}

test.before(async () => {
  try {
    await setUp();
  } catch (error) {
    // uvu does not report a failing hook's error.
    console.error(error);
    throw error;
  }
});

async function setUp(): Promise<void> {
  work = mkdtempSync(nodePath.join(os.tmpdir(), 'deskline-engine-'));
  opt = nodePath.join(work, 'opt');
  mkdirSync(opt);
  // docker-compose 1.29 builds through the `docker` client it finds first. BuildKit in that client
  // is built in up to Docker 20.10 (Debian's docker.io); newer clients need the buildx plugin, which
  // Debian 12 does not package. So the engine's own client comes first.
  bin = nodePath.join(work, 'bin');
  mkdirSync(bin);
  if (existsSync('/usr/bin/docker')) symlinkSync('/usr/bin/docker', nodePath.join(bin, 'docker'));

  for (const port of TCP_PORTS) await assertTcpFree(port, '127.0.0.1');
  for (const port of TCP_PORTS_ALL_ADDRESSES) await assertTcpFree(port, '0.0.0.0');
  for (const port of UDP_PORTS) await assertUdpFree(port);
  for (let port = MEDIA_PORTS.min; port <= MEDIA_PORTS.max; port++) await assertUdpFree(port);

  engine = await step('engine', useDockerEngine);
  console.log(`  engine: ${engine.startedHere ? 'started by this test' : 'already running'} at ${engine.host}`);
  const left = (
    await engine.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=deskline'])
  ).stdout.trim();
  if (left) {
    assert.ok(
      engine.startedHere,
      `the running engine already has a deskline stack (${left.split('\n').length} containers): this test will not touch it`,
    );
    // A run of this test that was killed left them in the test's own engine.
    await engine.docker(['rm', '-f', ...left.split('\n')]);
  }

  const baseImages = await step('base images', async () => {
    const major = /^FROM node:(\d+)-bookworm-slim/m.exec(
      readFileSync(nodePath.join(REPO_ROOT, 'deploy/node/Dockerfile'), 'utf8'),
    )?.[1];
    assert.ok(major, 'deploy/node/Dockerfile names its Node major');
    return typed(`bash ${nodePath.join(REPO_ROOT, 'tests/deploy/base-images.sh')} ${major}`, {
      timeoutMs: 15 * 60_000,
    });
  });
  console.log(baseImages.trim().replace(/^/gm, '    '));
  standIns = /^\S+ (cached|built)\b/m.test(baseImages);

  const microphone = nodePath.join(work, 'microphone.wav');
  await typed(
    `sox -n -r 8000 -c 1 -t ul patient-voice.ul synth 5 sine ${PATIENT_HZ} vol 0.5 && sox -n -r 48000 -c 1 -b 16 ${microphone} synth 5 sine ${MICROPHONE_HZ} vol 0.5`,
  );
  browser = await launchBrowser({
    args: [`--use-file-for-fake-audio-capture=${microphone}`, '--ignore-certificate-errors'],
  });
  await installAudioProbe(browser.context);
}

test.after(async () => {
  await page?.close().catch(() => undefined);
  await browser?.close();
  for (const capture of captures) await capture.stop();
  if (engine) {
    // The stack's folder: deskline, or deskline-previous if the upgrade stopped half-way.
    const folder = [deskline(), `${deskline()}-previous`].find((dir) =>
      existsSync(nodePath.join(dir, 'docker-compose.yml')),
    );
    if (folder) {
      // What the stack made: its containers, its volumes and the images it built (this version's).
      const down = await shell('docker-compose down -v --rmi local --remove-orphans', {
        cwd: folder,
        timeoutMs: 3 * 60_000,
      });
      if (down.code !== 0) console.log(`  clean-up: docker-compose down failed:\n${down.output}`);
    }
    // The previous version's images, replaced by the upgrade.
    if (oldImages.length)
      await engine
        .docker(['rmi', '-f', ...oldImages])
        .catch((error: Error) => console.log(`  clean-up: ${error.message}`));
    await step('engine stop', () => engine.stop());
  }
  hangUpAll.abort();
  await Promise.allSettled(sippCalls);
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(`  steps: ${[...run].map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(', ')}`);
});

test("section 4: the release archive passes its checksum, unpacks, and .env is made with the guide's lines", async () => {
  await step('release archive', () => typed(`bash ${nodePath.join(REPO_ROOT, 'scripts/release.sh')} ${opt}`));
  const extracted = await step('checksum and extract', () => typed(asTyped(engineRunBlock('extract'))));
  assert.match(extracted, /^deskline-[^:]+\.tar\.gz: OK$/m, 'sha256sum -c says OK');
  await typed(asTyped(engineRunBlock('secrets')), { cwd: deskline() });
  const env = readFileSync(nodePath.join(deskline(), '.env'), 'utf8');
  assert.match(env, /^SIP_EPHEMERAL_SECRET=[0-9a-f]{64}$/m);
  assert.match(env, /^REDIS_PASSWORD=[0-9a-f]{64}$/m);

  // The five required lines, as clinic IT fills them in an editor: this machine's loopback is the
  // server's address and the PBX's; Caddy's own authority (section 9) for a name only this machine has.
  const filled: Record<string, string> = {
    PUBLIC_HOSTNAME: HOSTNAME,
    SIP_LISTEN_HOST: '127.0.0.1',
    RTPENGINE_INTERFACE: '127.0.0.1',
    TRUNK_ADDRESSES: '127.0.0.1',
    CLINIC_NUMBERS: CLINIC_NUMBER,
    CADDY_TLS: 'tls internal',
  };
  let edited = env;
  for (const [name, value] of Object.entries(filled)) {
    assert.match(edited, new RegExp(`^${name}=$`, 'm'), `.env.example has an empty ${name}= line`);
    edited = edited.replace(new RegExp(`^${name}=$`, 'm'), `${name}=${value}`);
  }
  writeFileSync(nodePath.join(deskline(), '.env'), edited);
  const config = await step('config -q', () =>
    typed(asTyped(lineOf(engineRunBlock('config'), 'config -q')), { cwd: deskline() }),
  );
  assert.is(config.trim(), '', 'config -q prints nothing');
});

test('section 5: up -d --build; every service healthy in docker compose ps within 2 minutes', async () => {
  const upStarted = Date.now();
  const up = await step('up -d --build', () => typed(asTyped(engineRunBlock('up')), { timeoutMs: BUILD_TIMEOUT }));
  assert.match(up, /Creating deskline[-_]redis[-_]1/, up.slice(-3000));
  const ps = await step('healthy', () => everyServiceHealthy('first start', upStarted));
  console.log(ps.trim().replace(/^/gm, '    '));
  for (const service of SERVICES) {
    const image = (
      await typed(`docker inspect --format '{{.Image}}' $(docker-compose ps -q ${service})`, { cwd: deskline() })
    ).trim();
    if (['sip', 'signaling'].includes(service)) oldImages.push(image);
  }
  const health = await typed(`curl -fsS --resolve ${HOSTNAME}:443:127.0.0.1 -k https://${HOSTNAME}/api/health`);
  assert.equal(JSON.parse(health), { status: 'ok', redis: 'ok' }, 'signaling reaches Redis, through Caddy');
});

test('sections 6 and 7: the first manager, an employee and the workstations from the command-line tool, as printed', async () => {
  await step('manager and staff', async () => {
    await typed(asTyped(engineRunBlock('manager')), { env: { PASSWORD } });
    // "From the same folder": section 7's block has no cd of its own.
    const made = await typed(asTyped(engineRunBlock('staff')), { env: { PASSWORD }, cwd: deskline() });
    assert.match(made, /Reception 1/);
    assert.match(made, /Front desk phone/);
  });
  const users = await typed(asTyped(lineOf(engineRunBlock('userList'), 'user list')), {
    env: { PASSWORD },
    cwd: deskline(),
  });
  assert.match(users, /maria@clinic\.example/);
  assert.match(users, new RegExp(EMPLOYEE.replace('.', '\\.')));
});

test("Chromium logs in through Caddy, picks Reception 1, and answers a patient sent to Kamailio's port: audio both ways", async () => {
  page = await step('log in', logIn);
  const call = await patientCalls();
  const result = await step('patient call', () => answerTalkHangUp(page as Page, call));
  console.log(`  ${result}`);
  await page.close();
  page = undefined;
});

test("section 11: a backup, then a restore on the real volume brings back exactly the backup's data", async () => {
  const backup = await step('backup', () => typed(asTyped(engineRunBlock('backup')), { cwd: deskline() }));
  const files = readdirSync(nodePath.join(deskline(), 'backups')).filter((f) => f.endsWith('.rdb'));
  assert.is(files.length, 1, backup);
  const file = files[0] ?? '';
  // Written after the backup: the restore must take it away.
  const later = `${CLI_PREFIX}user create --email late@clinic.example --name "After the backup" --role employee`;
  await typed(asTyped(later), { env: { PASSWORD }, cwd: deskline() });

  const restoreStarted = Date.now();
  const restore = await step('restore', () =>
    typed(asTyped(engineRunBlock('restore'), [['deskline-2026-01-31.rdb', file]]), { timeoutMs: BUILD_TIMEOUT }),
  );
  assert.match(restore, /restore: \d+ keys from \/backup\//, restore.slice(-3000));
  await step('healthy after restore', () => everyServiceHealthy('after the restore', restoreStarted));
  const users = await typed(asTyped(lineOf(engineRunBlock('userList'), 'user list')), {
    env: { PASSWORD },
    cwd: deskline(),
  });
  assert.match(users, new RegExp(EMPLOYEE.replace('.', '\\.')), "the backup's users are back");
  assert.not.match(users, /late@clinic\.example/, 'what was written after the backup is gone');
});

test('section 12: an upgrade to the next release with a patient on hold: the music goes on, the patient stays and is answered after it', async () => {
  const current = (JSON.parse(readFileSync(nodePath.join(deskline(), 'package.json'), 'utf8')) as { version: string })
    .version;
  const next = `${current}-next`;
  const incoming = nodePath.join(work, 'incoming');
  mkdirSync(incoming);
  await step('second release', () => secondRelease(next, incoming));
  await typed(`cp ${incoming}/deskline-${next}.tar.gz ${incoming}/deskline-${next}.tar.gz.sha256 ${opt}/`);

  // Nobody is at a workstation (the browser's page closed before the backup): the patient waits on hold music.
  const call = await patientCalls();
  await waitFor(
    'the patient in the queue',
    async () => {
      const waiting = await typed(asTyped(inlineCommand(CALLERS_WAITING.section, CALLERS_WAITING.marker)), {
        cwd: deskline(),
      });
      return waiting.trim() === '1';
    },
    UI_TIMEOUT,
  );
  console.log(`  on hold before the upgrade: ${await hearsHoldMusic(call)}`);
  const before = await containerIds();

  let block = engineRunBlock('upgrade');
  // --pull asks Docker Hub for newer base images; the stand-ins have no registry to come from.
  if (standIns) block = block.replace('docker compose build --pull', 'docker compose build');
  const upgradeStarted = Date.now();
  const upgrade = await step('upgrade', () =>
    typed(asTyped(block, [['<new version>', next]]), { timeoutMs: BUILD_TIMEOUT }),
  );
  const upgradeEnded = Date.now();
  await step('healthy after upgrade', () => everyServiceHealthy('after the upgrade', upgradeStarted));
  const healthyAt = Date.now();
  const after = await containerIds();
  assert.ok(!call.ended(), `the patient was cut off during the upgrade:\n${upgrade.slice(-3000)}`);

  const version = (
    await typed(`docker-compose exec -T signaling node -p "require('./package.json').version"`, { cwd: deskline() })
  ).trim();
  assert.is(version, next, 'signaling runs the new release');
  const recreated = SERVICES.filter((service) => before[service] !== after[service]);
  console.log(`  the upgrade recreated: ${recreated.join(', ') || 'nothing'}`);
  for (const service of MEDIA_SERVICES)
    assert.ok(
      !recreated.includes(service),
      `an app-only upgrade restarted ${service}: every call in progress would end`,
    );
  assert.ok(recreated.includes('sip'), 'the sip app runs the new image');

  // The capture trails the wire a little: wait until it has passed the end of the window.
  await call.capture.span(healthyAt, 1000, UI_TIMEOUT);
  const gap = longestGap(call.capture.packets, upgradeStarted, healthyAt);
  const expected = (healthyAt - upgradeStarted) / 20;
  console.log(
    `  hold music from the upgrade's first command until every service was healthy again (${((healthyAt - upgradeStarted) / 1000).toFixed(1)} s; the upgrade's commands took ${((upgradeEnded - upgradeStarted) / 1000).toFixed(1)} s): ` +
      `${gap.packets} packets of ${expected.toFixed(0)} at 50/s, longest gap ${gap.gapMs.toFixed(0)} ms at +${((gap.at - upgradeStarted) / 1000).toFixed(1)} s`,
  );
  console.log(`  on hold after the upgrade: ${await hearsHoldMusic(call)}`);
  assert.ok(gap.gapMs < 1000, `the patient heard ${gap.gapMs.toFixed(0)} ms of silence during the upgrade`);

  page = await step('log in after upgrade', logIn);
  const result = await step('answered after upgrade', () => answerTalkHangUp(page as Page, call));
  console.log(`  ${result}`);
  await page.close();
  page = undefined;
});

test('section 15: docker compose down removes the containers', async () => {
  await step('down', () =>
    typed(asTyped(lineOf(engineRunBlock('down'), 'docker compose down')), { cwd: deskline(), timeoutMs: 3 * 60_000 }),
  );
  const left = (
    await engine.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=deskline'])
  ).stdout.trim();
  assert.is(left, '', 'no container of the stack is left');
});

test.run();
