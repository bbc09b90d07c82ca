import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { KEY_SPACING_MS, KeypressListener, parseKeypress, type KeyPress } from '@deskline/sip/media/keypresses';
import { freePort } from '@deskline/scripts/free-port';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const event = (fields: Record<string, unknown>): Buffer =>
  Buffer.from(JSON.stringify({ callid: 'c1', source_tag: 't1', type: 'DTMF', timestamp: 1, ...fields }));

test("parseKeypress: rtpengine's datagram as a key; events 10 and 11 are * and #; anything else is no key", () => {
  assert.equal(parseKeypress(event({ event: 5 })), { callId: 'c1', tag: 't1', key: '5' });
  assert.is(parseKeypress(event({ event: 10 }))?.key, '*');
  assert.is(parseKeypress(event({ event: 11 }))?.key, '#');
  for (const bad of [
    event({ event: 12 }),
    event({ event: -1 }),
    event({ event: 1.5 }),
    event({ event: '1' }),
    event({ event: 1, type: 'other' }),
    event({ event: 1, callid: '' }),
    event({ event: 1, source_tag: 7 }),
    Buffer.from('{"callid":'),
    Buffer.from('null'),
    Buffer.from('[1]'),
    Buffer.from([0xff, 0xfe, 0x00]),
  ])
    assert.is(parseKeypress(bad), undefined, bad.toString());
});

test(`KeypressListener: keys from rtpengine's address only, one per call per ${KEY_SPACING_MS} ms; junk never throws`, async () => {
  const port = await freePort('127.0.0.1', ['udp']);
  const keys: KeyPress[] = [];
  const listener = await KeypressListener.open({
    host: '127.0.0.1',
    port,
    rtpengineAddress: '127.0.0.1',
    log: pino({ level: 'silent' }),
    onKey: (press) => {
      keys.push(press);
      if (press.key === '#') throw new Error('a handler that fails');
    },
  });
  const rtpengine = dgram.createSocket('udp4');
  const stranger = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => rtpengine.bind(0, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', () => resolve()));
  try {
    stranger.send(event({ event: 1 }), port, '127.0.0.1');
    rtpengine.send(Buffer.alloc(10_000, 0x7b), port, '127.0.0.1');
    rtpengine.send(event({ event: 1 }), port, '127.0.0.1');
    rtpengine.send(event({ event: 1 }), port, '127.0.0.1');
    rtpengine.send(event({ event: 2 }), port, '127.0.0.1');
    rtpengine.send(event({ event: 3, callid: 'c2' }), port, '127.0.0.1');
    await sleep(KEY_SPACING_MS + 100);
    rtpengine.send(event({ event: 11 }), port, '127.0.0.1');
    await sleep(100);
    rtpengine.send(event({ event: 4 }), port, '127.0.0.1');
    await sleep(KEY_SPACING_MS + 100);
    rtpengine.send(event({ event: 6 }), port, '127.0.0.1');
    await sleep(100);
    assert.equal(
      keys.map((press) => `${press.callId}:${press.key}`),
      ['c1:1', 'c2:3', 'c1:#', 'c1:6'],
    );
  } finally {
    rtpengine.close();
    stranger.close();
    await listener.close();
  }
});

test.run();
