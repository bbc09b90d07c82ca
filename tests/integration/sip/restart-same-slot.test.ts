/**
 * A sip app restarted where it ran (on the same host and SIP_APP_HEALTH_PORT: its slot, as the
 * launcher and Docker's restart policy restart it) takes over the calls of the instance it replaces
 * at once, without the RECONNECT_GRACE_SECONDS a young Redis connection otherwise waits for a missing
 * owner: only one process can listen on that port, so the one that ran there before is gone. A patient
 * whose intro ends while no sip app runs hears the hold music again as soon as the new one is up (the
 * chaos run's seed 315341894 measured 3.0–3.6 s of silence there before). And the guard: a slot that
 * names an instance still connected to Redis takes nothing from it.
 */
import os from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { slotKey } from '@deskline/store';
import { WAITING_FOR_RECONNECTS } from '@deskline/sip/calls/orphaned-calls';
import { CallEvents } from '../../helpers/call-events.js';
import { Callers, RESTART_GAP_LIMIT_MS, maxGap } from '../../helpers/callers.js';
import {
  HOLD_MUSIC_HZ,
  INTRO_HZ,
  INTRO_SECONDS,
  deskCallIdOf,
  ownerOf,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { isTone } from '../../helpers/patient-phone.js';
import { instanceIdOf } from '../../helpers/sip-app.js';

const ADOPTED = 'adopted a call whose sip app instance is gone';
/**
 * From the new process's start to its adoption: Node's start and one CLIENT LIST (0.65 s measured
 * at load average 11, 1.5 s at 13), under the 3 s a reconnect grace alone would take.
 */
const ADOPTED_WITHIN_MS = 2_500;

const sameSlot = suite<{ path: CallPath; healthPort: number }>('a sip app restarted in its own slot');

sameSlot.before(async (context) => {
  context.healthPort = await freePort();
  context.path = await startCallPath({ appEnv: { SIP_APP_HEALTH_PORT: String(context.healthPort) } });
});

sameSlot.after(async (context) => {
  await context.path?.stop();
});

sameSlot(
  "killed as a patient's intro ends: the new process adopts the call at once, and the music follows the intro within the gap goal",
  async ({ path, healthPort }) => {
    const events = await CallEvents.open(path.redisUrl);
    const callers = await Callers.open(path);
    try {
      const from = events.mark();
      const caller = await callers.call();
      const callId = await deskCallIdOf(path, caller.dialog.callId);
      await events.waitFor({ callId, state: 'intro', from });
      const introAt = (await caller.phone.waitForTone(INTRO_HZ, 3_000)).at;
      const dead = instanceIdOf(path.app);
      assert.is(
        await path.redis.get(slotKey(`${os.hostname()}:${healthPort}`)),
        dead,
        'the slot names the running instance',
      );

      // The fault is timed, not waited for: the intro's last 0.3 s, so that it ends with no sip app.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, introAt + INTRO_SECONDS * 1000 - 300 - Date.now())),
      );
      const killedAt = Date.now();
      await path.crashApp();
      const startAt = Date.now();
      const app = await path.startApp();
      const adopted = await app.waitForLog('the adoption', (line) => line.msg === ADOPTED);
      const adoptedMs = Number(adopted['time']) - startAt;
      const music = await caller.phone.waitUntil(
        'the hold music after the restart',
        (received) => received.find((p) => p.at > startAt && isTone(p, HOLD_MUSIC_HZ)),
        5_000,
      );
      const gap = maxGap(caller.phone, killedAt - 1_000, music.at + 1_000);
      console.log(
        `  restart in the same slot: adopted ${adoptedMs} ms after the new process was started (${Number(adopted['time']) - killedAt} ms after the kill); the patient's longest silence ${gap} ms`,
      );

      assert.ok(
        app.logs.some(
          (line) =>
            line.msg === 'the sip app instance that ran here before is gone; taking over its calls now' &&
            line['predecessor'] === dead,
        ),
        'it knew its predecessor',
      );
      assert.not.ok(
        app.logs.some((line) => line.msg === WAITING_FOR_RECONNECTS),
        'no reconnect grace for a predecessor known dead',
      );
      assert.ok(adoptedMs < ADOPTED_WITHIN_MS, `adopted ${adoptedMs} ms after the start`);
      assert.is(await ownerOf(path, callId), instanceIdOf(app));
      assert.ok(gap < RESTART_GAP_LIMIT_MS, `the patient heard nothing for ${gap} ms`);
      assert.is(
        await path.redis.get(slotKey(`${os.hostname()}:${healthPort}`)),
        instanceIdOf(app),
        'the slot names the new instance',
      );

      assert.is((await caller.dialog.hangUp()).status, 200);
      await events.waitFor({ callId, state: 'abandoned', from });
    } finally {
      await callers.close();
      await events.close();
    }
  },
);

sameSlot.run();

const guard = suite<{ path: CallPath }>('a slot naming an instance that is still connected');

guard.before(async (context) => {
  context.path = await startCallPath({ instances: 2 });
});

guard.after(async (context) => {
  await context.path?.stop();
});

guard(
  'takes nothing from it: its calls stay its own, and the new instance only writes itself into the slot',
  async ({ path }) => {
    const events = await CallEvents.open(path.redisUrl);
    const callers = await Callers.open(path);
    try {
      await path.stopAppAt(1);
      const live = instanceIdOf(path.app);
      const from = events.mark();
      const caller = await callers.call();
      const callId = await deskCallIdOf(path, caller.dialog.callId);
      await events.waitFor({ callId, state: 'waiting', from }, INTRO_SECONDS * 1000 + 5_000);
      assert.is(await ownerOf(path, callId), live);

      // As if the live instance had run in the slot the next one starts in (two hosts of one name, say).
      const port = await freePort();
      const slot = slotKey(`${os.hostname()}:${port}`);
      await path.redis.set(slot, live);
      const next = await path.startAppAt(1, { SIP_APP_HEALTH_PORT: String(port) });

      assert.not.ok(
        next.logs.some(
          (line) =>
            line.msg === ADOPTED ||
            line.msg === 'the sip app instance that ran here before is gone; taking over its calls now',
        ),
        'nothing taken',
      );
      assert.is(await ownerOf(path, callId), live, 'the call stays with the live instance');
      assert.is(await path.redis.get(slot), instanceIdOf(next));
      await caller.phone.waitForTone(HOLD_MUSIC_HZ, 3_000);
      assert.is((await caller.dialog.hangUp()).status, 200);
      await events.waitFor({ callId, state: 'abandoned', from });
    } finally {
      await callers.close();
      await events.close();
    }
  },
);

guard.run();
