import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  answerDirection,
  carriesAudio,
  dtlsSetup,
  mediaAddress,
  onlyCarriedCodecs,
  placeholderSdp,
  sameSdpVersion,
  sdpOrigin,
  stripWebRtcOnlyLines,
  withDirection,
  withSdpOrigin,
} from '@deskline/sip/media/sdp';

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

test("mediaAddress: the audio stream's own c= line wins over the session's; none without audio", () => {
  assert.is(mediaAddress(fromRtpengine), '127.0.0.1:30004');
  const own = [
    'v=0',
    'c=IN IP4 10.0.0.1',
    't=0 0',
    'm=audio 4000 RTP/AVP 0',
    'c=IN IP4 192.0.2.7',
    'm=video 5000 RTP/AVP 96',
    'c=IN IP4 10.0.0.9',
    '',
  ].join('\r\n');
  assert.is(mediaAddress(own), '192.0.2.7:4000');
  assert.is(mediaAddress(['v=0', 'c=IN IP6 ::1', 'm=audio 6000 RTP/AVP 0'].join('\n')), '::1:6000');
  assert.is(mediaAddress('v=0\r\nm=video 5000 RTP/AVP 96\r\n'), undefined);
});

const offer = (origin: string, direction = 'sendrecv'): string =>
  [
    'v=0',
    `o=${origin}`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 4000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');

test('sdpOrigin and sameSdpVersion: a re-offer with the same o= line is the same version', () => {
  assert.is(sdpOrigin(offer('patient 53655765 1000 IN IP4 10.0.0.1')), 'patient 53655765 1000 10.0.0.1');
  assert.ok(
    sameSdpVersion(offer('patient 1 1000 IN IP4 10.0.0.1'), offer('patient 1 1000 IN IP4 10.0.0.1', 'sendonly')),
  );
  assert.not.ok(sameSdpVersion(offer('patient 1 1000 IN IP4 10.0.0.1'), offer('patient 1 1001 IN IP4 10.0.0.1')));
  assert.not.ok(sameSdpVersion(offer('patient 1 1000 IN IP4 10.0.0.1'), offer('patient 2 1000 IN IP4 10.0.0.1')));
  assert.not.ok(sameSdpVersion('v=0\r\n', 'v=0\r\n'), 'no o= line: never the same');
});

test('withSdpOrigin: our username, session id and version; the address and the CRLF stay', () => {
  const sdp = withSdpOrigin(offer('agent 7 3 IN IP4 192.0.2.1'), 1795635462434, 2);
  assert.match(sdp, /^v=0\r\no=- 1795635462434 2 IN IP4 192\.0\.2\.1\r\ns=-\r\n/);
});

test('answerDirection: the answer to a hold (sendonly) is recvonly, and so on (RFC 3264 §6.1)', () => {
  assert.is(answerDirection(offer('p 1 1 IN IP4 10.0.0.1', 'sendonly')), 'recvonly');
  assert.is(answerDirection(offer('p 1 1 IN IP4 10.0.0.1', 'recvonly')), 'sendonly');
  assert.is(answerDirection(offer('p 1 1 IN IP4 10.0.0.1', 'inactive')), 'inactive');
  assert.is(answerDirection(offer('p 1 1 IN IP4 10.0.0.1')), 'sendrecv');
  assert.is(
    answerDirection('v=0\r\na=sendonly\r\nm=audio 1 RTP/AVP 0\r\n'),
    'recvonly',
    'a session-level direction counts',
  );
  assert.is(answerDirection('v=0\r\nm=audio 1 RTP/AVP 0\r\n'), 'sendrecv', 'none means sendrecv');
});

test('withDirection: one direction line per m= section, none at session level', () => {
  const sdp = [
    'v=0',
    'a=sendrecv',
    'm=audio 1 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    'a=sendrecv',
    'm=video 2 RTP/AVP 96',
    '',
  ].join('\r\n');
  assert.is(
    withDirection(sdp, 'recvonly'),
    ['v=0', 'm=audio 1 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=recvonly', 'm=video 2 RTP/AVP 96', 'a=recvonly', ''].join(
      '\r\n',
    ),
  );
  assert.is(withDirection(placeholderSdp(1), 'sendrecv'), placeholderSdp(1), 'the placeholder as it is');
});

test('carriesAudio: PCMU or PCMA, static or named in an rtpmap, on a stream with a port; nothing else carries a voice', () => {
  const sdp = (media: string, ...attributes: string[]) =>
    ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', media, ...attributes, ''].join('\r\n');
  assert.ok(carriesAudio(placeholderSdp(1)));
  assert.ok(carriesAudio(sdp('m=audio 4000 RTP/AVP 0')), 'PCMU by its static type');
  assert.ok(carriesAudio(sdp('m=audio 4000 RTP/AVP 9 8 101', 'a=rtpmap:9 G722/8000')), 'PCMA beside G.722');
  assert.ok(
    carriesAudio(sdp('m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 pcma/8000')),
    'PCMA under a dynamic type, any case',
  );
  assert.ok(
    carriesAudio(sdp('m=video 5000 RTP/AVP 96', 'a=rtpmap:96 H264/90000') + 'm=audio 4000 RTP/AVP 8\r\n'),
    'a second stream',
  );
  assert.not.ok(carriesAudio(sdp('m=audio 4000 RTP/AVP 9', 'a=rtpmap:9 G722/8000')), 'G.722 alone');
  assert.not.ok(carriesAudio(sdp('m=audio 4000 RTP/AVP 9')), 'G.722 by its static type');
  assert.not.ok(
    carriesAudio(sdp('m=audio 4000 RTP/AVP 101 13', 'a=rtpmap:101 telephone-event/8000')),
    'DTMF events and comfort noise',
  );
  assert.not.ok(carriesAudio(sdp('m=audio 0 RTP/AVP 0 8')), 'a removed stream');
  assert.not.ok(
    carriesAudio(sdp('m=audio 4000 RTP/AVP 0', 'a=rtpmap:0 opus/48000/2')),
    'type 0 renamed to another codec',
  );
  assert.not.ok(carriesAudio(sdp('m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 PCMU/16000')), 'PCMU at another rate');
  assert.not.ok(carriesAudio(sdp('m=video 4000 RTP/AVP 0')), 'not audio');
  assert.not.ok(carriesAudio(''), 'no SDP at all');
  assert.not.ok(
    carriesAudio(sdp('m=audio 4000 RTP/AVP (.*)+$ 9', 'a=rtpmap:(.*)+$ PCMU/8000')),
    'a format that is no payload type',
  );
});

test('carriesAudio reads a flood of formats and rtpmap lines in one pass (a trunk cannot stall the sip app with its SDP)', () => {
  const formats = Array.from({ length: 20_000 }, (_, i) => 96 + (i % 32));
  const flood = [
    'v=0',
    'c=IN IP4 127.0.0.1',
    `m=audio 4000 RTP/AVP ${formats.join(' ')}`,
    ...formats.map((f) => `a=rtpmap:${f} G722/8000`),
    '',
  ].join('\r\n');
  const started = performance.now();
  assert.not.ok(carriesAudio(flood));
  const ms = performance.now() - started;
  assert.ok(ms < 500, `${ms.toFixed(0)} ms for ${flood.length} characters`);
});

/** linphone 5.1's early offer, as it sends it (tests/e2e/web/linphone-patient-audio.test.ts). */
const linphoneOffer = [
  'v=0',
  'o=+4915112345678 715 2783 IN IP4 127.0.0.1',
  's=Talk',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'm=audio 32951 RTP/AVP 96 97 98 0 8 18 99 100 101',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:97 speex/16000',
  'a=fmtp:97 vbr=on',
  'a=rtpmap:98 speex/8000',
  'a=fmtp:98 vbr=on',
  'a=fmtp:18 annexb=yes',
  'a=rtpmap:99 telephone-event/48000',
  'a=rtpmap:100 telephone-event/16000',
  'a=rtpmap:101 telephone-event/8000',
  'a=rtcp-fb:* trr-int 5000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:* ccm tmmbr',
  '',
].join('\r\n');

test('onlyCarriedCodecs: a whole codec list narrows to PCMU, PCMA and telephone-event/8000, with the lines of the others gone', () => {
  assert.is(
    onlyCarriedCodecs(linphoneOffer),
    [
      'v=0',
      'o=+4915112345678 715 2783 IN IP4 127.0.0.1',
      's=Talk',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
      'm=audio 32951 RTP/AVP 0 8 101',
      'a=rtpmap:101 telephone-event/8000',
      'a=rtcp-fb:* trr-int 5000',
      'a=rtcp-fb:* ccm tmmbr',
      '',
    ].join('\r\n'),
  );
  // G.722 first, as many PBXs send: G.722 goes, the rest stays in the PBX's order; LF line ends become CRLF.
  assert.is(
    onlyCarriedCodecs(
      'v=0\nm=audio 4000 RTP/AVP 9 8 0 13 101\na=rtpmap:9 G722/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n',
    ),
    'v=0\r\nm=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n',
  );
  // What carries nothing of ours stays as it was, for carriesAudio to refuse.
  const g722Only = 'v=0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n';
  assert.is(onlyCarriedCodecs(g722Only), g722Only);
  assert.is(onlyCarriedCodecs(placeholderSdp(1)), placeholderSdp(1));
  assert.ok(carriesAudio(onlyCarriedCodecs(linphoneOffer)));
});

test('onlyCarriedCodecs reads a flood of formats in linear time', () => {
  const formats = Array.from({ length: 20_000 }, (_, i) => String(96 + (i % 30)));
  const flood = `v=0\r\nm=audio 4000 RTP/AVP 0 ${formats.join(' ')}\r\n${formats.map((f) => `a=rtpmap:${f} opus/48000/2`).join('\r\n')}\r\n`;
  const started = performance.now();
  const narrowed = onlyCarriedCodecs(flood);
  const ms = performance.now() - started;
  assert.match(narrowed, /^m=audio 4000 RTP\/AVP 0\r$/m);
  assert.ok(ms < 500, `${ms.toFixed(0)} ms for ${flood.length} characters`);
});

test("dtlsSetup reads a description's first a=setup, and none where there is none", () => {
  assert.is(dtlsSetup('v=0\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=setup:actpass\r\n'), 'actpass');
  assert.is(
    dtlsSetup(
      'v=0\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=setup:passive\r\nm=audio 4002 UDP/TLS/RTP/SAVPF 0\r\na=setup:active\r\n',
    ),
    'passive',
  );
  assert.is(dtlsSetup('v=0\r\nm=audio 4000 RTP/AVP 0\r\n'), undefined);
});

test.run();
