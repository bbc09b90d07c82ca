import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { IncomingResponse, OutgoingRequestDelegate } from 'sip.js/lib/core/index.js';
import { NOT_CONNECTED_RETRY_MS, PatientKeepalive, type KeepaliveFailure } from '@deskline/sip/calls/patient-keepalive';

/** A keepalive whose one probe is answered `statusCode` (with a Via: from a peer, not SIP.js). */
async function answeredWith(
  statusCode: number,
  alsoVanishedOn?: readonly number[],
): Promise<KeepaliveFailure | undefined> {
  let vanished: KeepaliveFailure | undefined;
  let probes = 0;
  const keepalive = new PatientKeepalive({
    intervalMs: 1,
    canProbe: () => true,
    probe: (delegate: OutgoingRequestDelegate) => {
      probes += 1;
      const message = { statusCode, reasonPhrase: 'x', hasHeader: (name: string) => name === 'via' };
      queueMicrotask(() => delegate.onReject?.({ message } as unknown as IncomingResponse));
    },
    ...(alsoVanishedOn ? { alsoVanishedOn } : {}),
    onVanished: (failure) => (vanished = failure),
    log: pino({ level: 'silent' }),
  });
  keepalive.start();
  await new Promise((resolve) => setTimeout(resolve, 30));
  keepalive.stop();
  assert.ok(probes >= 1);
  return vanished;
}

test('a patient: 404 (Kamailio\'s "Not Here" for a dialog it cannot route), 408 and 481 mean vanished; 500, 405 and 200 do not', async () => {
  assert.equal(await answeredWith(404), { statusCode: 404, reasonPhrase: 'x' });
  assert.equal(await answeredWith(408), { statusCode: 408, reasonPhrase: 'x' });
  assert.equal(await answeredWith(481), { statusCode: 481, reasonPhrase: 'x' });
  for (const status of [500, 477, 405, 403, 200]) assert.is(await answeredWith(status), undefined, String(status));
});

test("the callback's browser leg: Kamailio's 500 and 477 (WebSocket closed) mean vanished too", async () => {
  assert.equal(await answeredWith(500, [477, 500]), { statusCode: 500, reasonPhrase: 'x' });
  assert.equal(await answeredWith(477, [477, 500]), { statusCode: 477, reasonPhrase: 'x' });
  assert.is(await answeredWith(200, [477, 500]), undefined);
});

test('only a 2xx counts as the phone saying it is there (onOk): not a 405, not a 503 from Kamailio', async () => {
  for (const [status, ok] of [
    [200, true],
    [202, true],
    [405, false],
    [503, false],
    [404, false],
  ] as const) {
    let oks = 0;
    const keepalive = new PatientKeepalive({
      intervalMs: 1_000,
      canProbe: () => true,
      probe: (delegate: OutgoingRequestDelegate) => {
        const message = { statusCode: status, reasonPhrase: 'x', hasHeader: (name: string) => name === 'via' };
        queueMicrotask(() =>
          (status < 300 ? delegate.onAccept : delegate.onReject)?.({ message } as unknown as IncomingResponse),
        );
      },
      onOk: () => (oks += 1),
      onVanished: () => undefined,
      log: pino({ level: 'silent' }),
    });
    keepalive.start();
    keepalive.probeNow();
    await new Promise((resolve) => setTimeout(resolve, 10));
    keepalive.stop();
    assert.is(oks, ok ? 1 : 0, String(status));
  }
});

test(`a keepalive skipped while Kamailio is unreachable is tried again after ${NOT_CONNECTED_RETRY_MS} ms, not a whole interval later`, async () => {
  let connected = false;
  const probedAt: number[] = [];
  const keepalive = new PatientKeepalive({
    intervalMs: 60_000,
    canProbe: () => connected,
    probe: () => probedAt.push(Date.now()),
    onVanished: () => undefined,
    log: pino({ level: 'silent' }),
  });
  keepalive.start();
  const start = Date.now();
  keepalive.probeNow();
  connected = true;
  await new Promise((resolve) => setTimeout(resolve, NOT_CONNECTED_RETRY_MS + 200));
  keepalive.stop();
  assert.is(probedAt.length, 1);
  const after = (probedAt[0] as number) - start;
  assert.ok(after >= NOT_CONNECTED_RETRY_MS - 20 && after < NOT_CONNECTED_RETRY_MS + 200, `${after} ms`);
});

test.run();
