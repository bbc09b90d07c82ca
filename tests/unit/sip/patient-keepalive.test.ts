import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { IncomingResponse, OutgoingRequestDelegate } from 'sip.js/lib/core/index.js';
import { PatientKeepalive, type KeepaliveFailure } from '@deskline/sip/calls/patient-keepalive';

/** A keepalive whose one probe is answered `statusCode` (with a Via: from a peer, not SIP.js). */
async function answeredWith(statusCode: number, alsoVanishedOn?: readonly number[]): Promise<KeepaliveFailure | undefined> {
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

test("a patient: 404 (Kamailio's \"Not Here\" for a dialog it cannot route), 408 and 481 mean vanished; 500, 405 and 200 do not", async () => {
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

test.run();
