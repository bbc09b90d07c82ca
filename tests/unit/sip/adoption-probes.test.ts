import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { IncomingResponse, OutgoingRequestDelegate } from 'sip.js/lib/core/index.js';
import { AdoptionProbes } from '@deskline/sip/calls/adoption-probes';
import { PatientKeepalive } from '@deskline/sip/calls/patient-keepalive';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An adopted leg's keepalive (long interval) that records when its probes went out; answered 200. */
function keepalive(sent: number[], connected: () => boolean = () => true): PatientKeepalive {
  const k = new PatientKeepalive({
    intervalMs: 60_000,
    canProbe: connected,
    probe: (delegate: OutgoingRequestDelegate) => {
      sent.push(Date.now());
      const message = { statusCode: 200, reasonPhrase: 'OK', hasHeader: () => true };
      queueMicrotask(() => delegate.onAccept?.({ message } as unknown as IncomingResponse));
    },
    onVanished: () => undefined,
    log: pino({ level: 'silent' }),
  });
  k.start();
  return k;
}

test('adopted calls are asked at once, one after another spacingMs apart, not in one burst', async () => {
  const probes = new AdoptionProbes({ spacingMs: 10, ready: () => true });
  const sent: number[] = [];
  const all = Array.from({ length: 10 }, () => keepalive(sent));
  const start = Date.now();
  for (const k of all) k.probePaced(probes);
  await sleep(150);
  assert.is(sent.length, 10, 'each asked once, long before the interval');
  assert.ok((sent[0] as number) - start < 10, 'the first at once');
  const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
  assert.ok(
    gaps.every((g) => g >= 8),
    `gaps ${gaps.join(', ')}`,
  );
  for (const k of all) k.stop();
  probes.stop();
});

test('held while not connected to Kamailio, then sent spaced once connected', async () => {
  let connected = false;
  const probes = new AdoptionProbes({ spacingMs: 10, retryMs: 5, ready: () => connected });
  const sent: number[] = [];
  const all = Array.from({ length: 5 }, () => keepalive(sent, () => connected));
  for (const k of all) k.probePaced(probes);
  await sleep(50);
  assert.is(sent.length, 0);
  connected = true;
  await sleep(100);
  assert.is(sent.length, 5);
  const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
  assert.ok(
    gaps.every((g) => g >= 8),
    `gaps ${gaps.join(', ')}`,
  );
  probes.stop();
  for (const k of all) k.stop();
});

test('a call that ended while waiting its turn sends nothing; a second probePaced or probeNow while queued does not ask twice', async () => {
  const probes = new AdoptionProbes({ spacingMs: 10, ready: () => true });
  const sent: number[] = [];
  const first = keepalive(sent);
  const ended = keepalive(sent);
  first.probePaced(probes);
  ended.probePaced(probes);
  ended.stop();
  first.probePaced(probes);
  first.probeNow();
  await sleep(60);
  assert.is(sent.length, 1);
  first.stop();
  probes.stop();
});

test.run();
