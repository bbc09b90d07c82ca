import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BencodeError, decode, encode, toText } from '@deskline/sip/media/bencode';

const text = (value: Parameters<typeof encode>[0]): string => encode(value).toString('latin1');

test('encodes the four kinds, with dictionary keys in byte order and undefined entries left out', () => {
  assert.is(text('spam'), '4:spam');
  assert.is(text(''), '0:');
  assert.is(text(-42), 'i-42e');
  assert.is(text(0), 'i0e');
  assert.is(text(['a', 1]), 'l1:ai1ee');
  assert.is(
    text({ 'to-tag': 'b', command: 'ping', 'call-id': 'a', skip: undefined }),
    'd7:call-id1:a7:command4:ping6:to-tag1:be',
  );
});

test('string lengths count UTF-8 bytes, not characters', () => {
  assert.is(text('Grüße'), '7:Grüße'.replace('Grüße', Buffer.from('Grüße').toString('latin1')));
  assert.is(toText(decode(encode('Grüße'))), 'Grüße');
});

test('a nested ng reply round-trips: dicts in lists in dicts', () => {
  const reply = {
    result: 'ok',
    sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n',
    tags: { patient: { medias: [{ index: 1, flags: ['initialized', 'ICE'], streams: [{ 'local port': 30000 }] }] } },
    totals: { RTP: { packets: 705, bytes: 100287, errors: 0 } },
    empty: { list: [], dict: {} },
  };
  assert.equal(toText(decode(encode(reply))), reply);
});

test('binary strings survive byte for byte', () => {
  const blob = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const decoded = decode(encode({ blob, list: [blob] })) as { blob: Buffer; list: Buffer[] };
  assert.ok(Buffer.isBuffer(decoded.blob));
  assert.is(Buffer.compare(decoded.blob, blob), 0);
  assert.is(Buffer.compare(decoded.list[0] as Buffer, blob), 0);
  assert.is(Buffer.compare(encode(decode(encode(blob))), encode(blob)), 0);
});

test('a key named __proto__ stays an ordinary key', () => {
  const decoded = toText(decode(Buffer.from('d9:__proto__i1ee'))) as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(decoded), Object.prototype);
  assert.equal(Object.keys(decoded), ['__proto__']);
});

test('malformed input is refused with the offset', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /end of data at offset 0/],
    ['i12', /unterminated integer/],
    ['i-0e', /malformed integer "-0"/],
    ['i03e', /malformed integer/],
    ['5:abc', /runs past the end/],
    ['l4:spam', /end of data at offset 7/],
    ['di1e1:ae', /key at offset 1 is not a string/],
    ['x', /unexpected byte 0x78 at offset 0/],
    ['4:spamjunk', /unexpected data after the value at offset 6/],
    ['i99999999999999999999e', /too large/],
    ['l'.repeat(100) + 'e'.repeat(100), /nested too deeply/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => decode(Buffer.from(input)),
      (err: unknown) => err instanceof BencodeError && message.test(err.message),
      input,
    );
  }
});

test('only safe integers are encoded', () => {
  assert.throws(() => encode(1.5), /safe integers/);
  assert.throws(() => encode(2 ** 60), /safe integers/);
});

test.run();
