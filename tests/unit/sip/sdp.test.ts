import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mediaAddress, placeholderSdp, stripWebRtcOnlyLines } from '@deskline/sip/media/sdp';

const fromRtpengine = [
  'v=0',
  'o=- 1545997027 1 IN IP4 127.0.0.1',
  's=-',
  'a=msid-semantic: WMS',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 30004 RTP/AVP 0 101',
  'a=mid:0',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtcp-fb:0 transport-cc',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=msid:stream track',
  'a=ssrc:1234 cname:abc',
  'a=ssrc-group:FID 1234 5678',
  'a=sendrecv',
  'a=rtcp:30005',
  'a=midway:keep-me',
  '',
].join('\r\n');

test('WebRTC-only attributes are removed; everything else stays, in order, with CRLF', () => {
  assert.is(
    stripWebRtcOnlyLines(fromRtpengine),
    [
      'v=0',
      'o=- 1545997027 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 30004 RTP/AVP 0 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=sendrecv',
      'a=rtcp:30005',
      'a=midway:keep-me',
      '',
    ].join('\r\n'),
  );
});

test('an SDP with bare LF line ends comes out with CRLF', () => {
  assert.is(stripWebRtcOnlyLines('v=0\na=mid:0\nm=audio 1 RTP/AVP 0\n'), 'v=0\r\nm=audio 1 RTP/AVP 0\r\n');
});

test('a plain SDP passes unchanged', () => {
  const plain = 'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\na=sendrecv\r\n';
  assert.is(stripWebRtcOnlyLines(plain), plain);
});

test('the placeholder is sendrecv PCMU/PCMA/telephone-event on the discard port of loopback', () => {
  const sdp = placeholderSdp(42);
  assert.match(sdp, /^v=0\r\no=- 42 1 IN IP4 127\.0\.0\.1\r\n/);
  assert.match(sdp, /\r\nc=IN IP4 127\.0\.0\.1\r\n/);
  assert.match(sdp, /\r\nm=audio 9 RTP\/AVP 0 8 101\r\n/);
  assert.match(sdp, /\r\na=sendrecv\r\n$/);
  assert.not.match(sdp, /inactive/);
});

test('mediaAddress: the audio stream\'s own c= line wins over the session\'s; none without audio', () => {
  assert.is(mediaAddress(fromRtpengine), '127.0.0.1:30004');
  const own = ['v=0', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 192.0.2.7', 'm=video 5000 RTP/AVP 96', 'c=IN IP4 10.0.0.9', ''].join('\r\n');
  assert.is(mediaAddress(own), '192.0.2.7:4000');
  assert.is(mediaAddress(['v=0', 'c=IN IP6 ::1', 'm=audio 6000 RTP/AVP 0'].join('\n')), '::1:6000');
  assert.is(mediaAddress('v=0\r\nm=video 5000 RTP/AVP 96\r\n'), undefined);
});

test.run();
