/**
 * `npm start` behaves like Compose's `restart: unless-stopped`: kill -9 of any one of its processes,
 * and the launcher starts it again (and only it), says so, and the service serves again; a crash loop
 * waits longer each time while the others run on; a stop during that wait leaves nothing behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ngPing } from '@deskline/scripts/rtpengine-ng';
import { sipOptionsAnswered } from '@deskline/scripts/sip-options';
import {
  assertBrowserRegisters,
  assertEmployeeLogsIn,
  assertNoneLeft,
  demoLogins,
  isGone,
  launcherRedisPassword,
  startOwnLauncher,
} from '../../helpers/launcher.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { waitFor } from '../../helpers/wait.js';

const READY_TIMEOUT_MS = 90_000;
/** From the kill to ready again; generous for a shared, busy machine. */
const RESTART_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const SERVICES = ['redis', 'rtpengine', 'kamailio', 'sip', 'signaling'] as const;

const { run, ports, varDir, cleanUp } = await startOwnLauncher({}, READY_TIMEOUT_MS);

const sipAppHealthy = async (): Promise<boolean> =>
  (await fetch(`http://127.0.0.1:${ports.sipAppHealthPort}/health`).catch(() => undefined))?.status === 200;

/** Each service's own health check, as a user of it would notice. */
const HEALTHY: Record<(typeof SERVICES)[number], () => Promise<boolean>> = {
  redis: async () => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: ports.redisPort,
      password: launcherRedisPassword(varDir),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    try {
      await redis.connect();
      return (await redis.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      redis.disconnect();
    }
  },
  rtpengine: () => ngPing('127.0.0.1', ports.ngPort),
  kamailio: () => sipOptionsAnswered('127.0.0.1', ports.sipPort),
  sip: sipAppHealthy,
  signaling: async () =>
    (await fetch(`http://127.0.0.1:${ports.port}/api/health`).catch(() => undefined))?.status === 200,
};

function pidOf(name: string): number {
  const pid = run.childPids().get(name);
  assert.ok(pid, `the launcher printed ${name}'s pid`);
  return pid;
}

function assertUntouched(others: Map<string, number>): void {
  for (const [name, pid] of others) {
    assert.is(run.childPids().get(name), pid, `${name} was not restarted`);
    assert.not.ok(isGone(pid), `${name} (pid ${pid}) still runs`);
  }
}

/** The whole path works: a patient's call goes through Kamailio to the sip app, which answers it, and rtpengine plays to them. */
async function assertPatientCallAnswered(): Promise<void> {
  const line = await PatientLine.open(ports.sipPort);
  const phone = await PatientPhone.open();
  try {
    const dialog = await line.call({ line: '100', rtpPort: phone.port, timeoutMs: 10_000 });
    await phone.waitUntil(
      '50 packets from rtpengine',
      (received) => (received.length >= 50 ? true : undefined),
      10_000,
    );
    assert.is((await dialog.hangUp()).status, 200, "the patient's BYE is answered");
  } finally {
    phone.close();
    await line.close();
  }
}

test.after(cleanUp);

for (const name of SERVICES) {
  test(`kill -9 of ${name}: the launcher says so, starts only ${name} again, and it serves again`, async () => {
    const pid = pidOf(name);
    const others = new Map([...run.childPids()].filter(([other]) => other !== name && other !== 'seed-demo'));
    const redis = new Redis({ host: '127.0.0.1', port: ports.redisPort, password: launcherRedisPassword(varDir) });
    const mark = `written just before ${name}'s kill at ${Date.now()}`;
    try {
      await redis.set('launch-restart-test', mark);
    } finally {
      redis.disconnect();
    }

    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const newPid = await run.waitForRestart(name, pid, RESTART_TIMEOUT_MS);
    const downMs = Date.now() - killedAt;
    console.log(`    ${name}: pid ${pid} killed, pid ${newPid} ready again ${downMs} ms later; the launcher said:`);
    for (const line of run.output
      .split('\n')
      .filter((l) => new RegExp(`^launcher +\\| (${name} crashed|started ${name} |${name} is ready again)`).test(l))) {
      if (line.includes(String(newPid)) || line.includes(`${name} crashed`)) console.log(`      ${line}`);
    }

    assert.match(
      run.output,
      new RegExp(
        `launcher +\\| ${name} crashed \\(killed by SIGKILL\\) after [\\d.]+ s ready; restarting it in 0\\.\\d s`,
      ),
    );
    assert.match(run.output, new RegExp(`launcher +\\| started ${name} \\(pid ${newPid}\\)`));
    assert.ok(isGone(pid), 'the killed process is gone');
    assert.ok(await HEALTHY[name](), `${name} answers its health check again`);
    assertUntouched(others);
    // What a user notices: every part works, and nothing was lost.
    for (const service of SERVICES) {
      // The sip app reconnects to a restarted Kamailio by itself, with its own backoff.
      await waitFor(`${service} to be healthy`, HEALTHY[service], 15_000);
    }
    await assertEmployeeLogsIn(ports.port, demoLogins(varDir));
    await assertPatientCallAnswered();
    await assertBrowserRegisters(ports, varDir, `ws-restart-${name}`);
    const after = new Redis({ host: '127.0.0.1', port: ports.redisPort, password: launcherRedisPassword(varDir) });
    try {
      assert.is(await after.get('launch-restart-test'), mark, 'what was written before the kill is still in Redis');
    } finally {
      after.disconnect();
    }
    assert.ok(run.running, 'the launcher runs on');
    // Still the same process: it serves, rather than crashing again on what the old one left behind.
    assertUntouched(new Map([[name, newPid]]));
  });
}

/** The pids in process group `pgid`, from /proc/PID/stat (its fifth field). */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // The command name, in parentheses, may hold spaces: count the fields after it.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[2]) === pgid ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

test("kill -9 of one of Kamailio's workers: Kamailio ends, and the launcher starts it again with all its workers", async () => {
  const leader = pidOf('kamailio');
  const workers = groupMembers(leader).filter((pid) => pid !== leader);
  assert.ok(workers.length >= 4, `Kamailio runs workers (${workers.length})`);
  const others = new Map([...run.childPids()].filter(([other]) => other !== 'kamailio' && other !== 'seed-demo'));
  process.kill(workers[0] ?? 0, 'SIGKILL');
  const killedAt = Date.now();
  const newPid = await run.waitForRestart('kamailio', leader, RESTART_TIMEOUT_MS);
  console.log(
    `    kamailio worker ${workers[0]} killed: pid ${newPid} ready again ${Date.now() - killedAt} ms later; ` +
      `${
        run.output
          .split('\n')
          .filter((line) => line.includes('kamailio crashed'))
          .at(-1) ?? ''
      }`,
  );
  assert.match(run.output, /kamailio crashed \((exit code \d+|killed by \w+)\) after [\d.]+ s ready/);
  for (const pid of [leader, ...workers]) assert.ok(isGone(pid), `the old Kamailio's process ${pid} is gone`);
  assert.ok(groupMembers(newPid).length > workers.length / 2, 'the new Kamailio runs its workers');
  assertUntouched(others);
  await waitFor('the sip app to reconnect', sipAppHealthy, 15_000);
  await assertPatientCallAnswered();
});

/** The launcher's printed wait before each restart of `name`, in seconds, in order. */
function restartDelays(name: string): number[] {
  return [
    ...run.output.matchAll(new RegExp(`${name} crashed \\([^)]*\\) [^;]*; restarting it in ([\\d.]+) s`, 'g')),
  ].map((m) => Number(m[1]));
}

test('a crash loop: each wait is twice the last, the others run on, and SIGTERM during a wait stops everything', async () => {
  const name = 'signaling';
  const others = new Map([...run.childPids()].filter(([other]) => other !== name && other !== 'seed-demo'));
  const before = restartDelays(name).length;
  const startedAt: number[] = [];
  // Killed as soon as it is started, five times: it never becomes ready, so the waits are not reset.
  for (let i = 0; i < 5; i++) {
    const pid = pidOf(name);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${name} to be started again`, () => run.childPids().get(name) !== pid, RESTART_TIMEOUT_MS);
    startedAt.push(Date.now());
  }
  const delays = restartDelays(name).slice(before);
  console.log(
    `    waits the launcher chose: ${delays.join(', ')} s; measured starts ${startedAt
      .slice(1)
      .map((t, i) => t - (startedAt[i] ?? 0))
      .join(', ')} ms apart`,
  );
  assert.is(delays.length, 5);
  for (let i = 1; i < delays.length; i++)
    assert.is(delays[i], 2 * (delays[i - 1] ?? 0), `wait ${i + 1} doubles wait ${i}`);
  // The measured time between starts grows too (each start of signaling takes about the same time).
  const gaps = startedAt.slice(1).map((t, i) => t - (startedAt[i] ?? 0));
  assert.ok((gaps.at(-1) ?? 0) > (gaps[0] ?? 0) + 1_000, `the starts come further apart: ${gaps.join(', ')} ms`);
  assertUntouched(others);
  for (const service of SERVICES.filter((s) => s !== name))
    assert.ok(await HEALTHY[service](), `${service} still serves`);

  // The sixth crash: a wait of several seconds, during which SIGTERM arrives.
  const lastPid = pidOf(name);
  process.kill(lastPid, 'SIGKILL');
  await waitFor('the sixth wait', () => restartDelays(name).length === before + 6, RESTART_TIMEOUT_MS);
  const wait = restartDelays(name).at(-1) ?? 0;
  assert.ok(wait >= 3, `a wait of ${wait} s`);
  const stopAt = Date.now();
  run.signal('SIGTERM');
  const status = await run.waitForExit(STOP_TIMEOUT_MS);
  console.log(`    SIGTERM during a ${wait} s wait: exited ${Date.now() - stopAt} ms later`);
  assert.equal(status, { code: 0, signal: null }, run.output);
  assert.match(run.output, `not restarting ${name}: stopping`);
  assert.is(run.childPids().get(name), lastPid, `${name} was not started again`);
  const stops = ['sip', 'kamailio', 'rtpengine', 'redis'].map((service) => run.output.indexOf(`stopping ${service}`));
  assert.ok(
    stops.every((at) => at >= 0),
    run.output,
  );
  assert.equal(
    stops,
    [...stops].sort((a, b) => a - b),
    'the others stopped in reverse start order',
  );
  await assertNoneLeft(run, varDir);
});

test.run();
