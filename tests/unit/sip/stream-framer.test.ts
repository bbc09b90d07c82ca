import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FramingError, MAX_HEADER_BYTES, SipStreamFramer } from '@deskline/sip/sip/stream-framer';

const body = 'v=0\r\nm=audio 4000 RTP/AVP 0\r\n';
const invite = `INVITE sip:100@x SIP/2.0\r\nVia: SIP/2.0/TCP k;branch=z9hG4bK1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const options = 'OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n';

test('messages split at any byte are put back together, in order', () => {
  const stream = Buffer.from(invite + options + invite);
  for (let cut = 1; cut < stream.length; cut += 7) {
    const framer = new SipStreamFramer();
    const out = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
    assert.equal(out, [invite, options, invite], `cut at ${cut}`);
  }
});

test('Content-Length counts bytes of a UTF-8 body', () => {
  const text = 'Grüße aus der Praxis';
  const message = `MESSAGE sip:x SIP/2.0\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
  assert.equal(new SipStreamFramer().push(Buffer.from(message + options)), [message, options]);
});

test('CRLF keep-alives between messages are skipped', () => {
  assert.equal(new SipStreamFramer().push(Buffer.from(`\r\n\r\n${options}\r\n\r\n\r\n${options}\r\n`)), [
    options,
    options,
  ]);
});

test('a stray line without Content-Length becomes one message of its own (to be dropped by the parser)', () => {
  assert.equal(new SipStreamFramer().push(Buffer.from(`hello world\r\n\r\n${options}`)), [
    'hello world\r\n\r\n',
    options,
  ]);
});

test('an unusable Content-Length or endless headers lose the framing', () => {
  const framingError = (err: unknown): boolean => err instanceof FramingError;
  assert.throws(
    () => new SipStreamFramer().push(Buffer.from('X sip:x SIP/2.0\r\nContent-Length: ten\r\n\r\n')),
    framingError,
  );
  assert.throws(
    () => new SipStreamFramer().push(Buffer.from('X sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n')),
    framingError,
  );
  const framer = new SipStreamFramer();
  assert.equal(framer.push(Buffer.alloc(MAX_HEADER_BYTES, 0x41)), []);
  assert.throws(() => framer.push(Buffer.from('A')), /no end of headers/);
});

test.run();
