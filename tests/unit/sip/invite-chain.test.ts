import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { IncomingInviteRequest, ResponseOptions } from 'sip.js/lib/core/index.js';
import { Grammar } from 'sip.js/lib/core/index.js';
import { acceptingCalls } from '@deskline/sip/inbound/accepting-calls';
import { findClinicLine } from '@deskline/sip/inbound/find-clinic-line';
import { identifyTrunk } from '@deskline/sip/inbound/identify-trunk';
import { next, runInviteChain, taken, type InviteContext, type InviteStep } from '@deskline/sip/inbound/invite-chain';
import { requireAudioOffer } from '@deskline/sip/inbound/require-audio-offer';

const log = pino({ level: 'silent' });

/** Just enough of an IncomingInviteRequest for the steps: its message and reject(). */
const PCMU_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 4000 RTP/AVP 0 101',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');
const G722_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 4000 RTP/AVP 9 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

function invite(
  dialled: string,
  headers: Record<string, string> = { 'content-type': 'application/sdp' },
  body = PCMU_OFFER,
) {
  const rejected: ResponseOptions[] = [];
  const message = {
    ruri: Grammar.URIParse(`sip:${dialled}@127.0.0.1`),
    body,
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  const request = {
    message,
    reject: (options: ResponseOptions) => {
      rejected.push(options);
      return { message: '' };
    },
  } as unknown as IncomingInviteRequest;
  return { request, rejected };
}

const fromKamailio = identifyTrunk(() => true);
const chain = (extra: InviteStep[] = []): InviteStep[] => [
  acceptingCalls(() => false),
  fromKamailio,
  findClinicLine(['100', '101']),
  requireAudioOffer,
  ...extra,
];

test('a call to a clinic line passes every check and reaches the step that takes it, with the line found', async () => {
  const { request, rejected } = invite('101');
  let seen: InviteContext | undefined;
  const take: InviteStep = { name: 'take', run: (context) => ((seen = context), taken) };
  await runInviteChain(chain([take]), { request, log });
  assert.equal(rejected, []);
  assert.is(seen?.line, '101');
});

test('a number that is not a clinic line ends with 404', async () => {
  const { request, rejected } = invite('999');
  await runInviteChain(chain(), { request, log });
  assert.equal(rejected, [{ statusCode: 404, reasonPhrase: 'Not Found' }]);
});

test('an INVITE that did not come through Kamailio ends with 403', async () => {
  const { request, rejected } = invite('100');
  await runInviteChain([identifyTrunk(() => false), findClinicLine(['100'])], { request, log });
  assert.equal(rejected, [{ statusCode: 403, reasonPhrase: 'Forbidden' }]);
});

test('an INVITE without a body (a late offer) is taken: our offer goes in the 200', async () => {
  for (const { request, rejected } of [invite('100', {}, ''), invite('100', undefined, '  \r\n')]) {
    let took = false;
    await runInviteChain(chain([{ name: 'take', run: () => ((took = true), taken) }]), { request, log });
    assert.equal(rejected, []);
    assert.ok(took);
  }
});

test('an offer with no audio codec we carry (G.722 alone, telephone-event alone, port 0), or a body that is not SDP, ends with 488', async () => {
  const events = PCMU_OFFER.replace('RTP/AVP 0 101', 'RTP/AVP 101');
  const removed = PCMU_OFFER.replace('m=audio 4000', 'm=audio 0');
  const bodies: Array<[Record<string, string>, string]> = [
    [{ 'content-type': 'application/sdp' }, G722_OFFER],
    [{ 'content-type': 'application/sdp' }, events],
    [{ 'content-type': 'application/sdp' }, removed],
    [{ 'content-type': 'text/plain' }, PCMU_OFFER],
    [{ 'content-type': 'multipart/mixed;boundary=x' }, PCMU_OFFER],
  ];
  for (const [headers, body] of bodies) {
    const { request, rejected } = invite('100', headers, body);
    await runInviteChain(chain([{ name: 'take', run: () => taken }]), { request, log });
    assert.equal(rejected, [{ statusCode: 488, reasonPhrase: 'Not Acceptable Here' }], body);
  }
});

test('while stopping, new calls get 503', async () => {
  const { request, rejected } = invite('100');
  await runInviteChain([acceptingCalls(() => true), fromKamailio], { request, log });
  assert.equal(rejected, [{ statusCode: 503, reasonPhrase: 'Service Unavailable' }]);
});

test('a step that throws, or a chain nobody takes, ends with 500', async () => {
  const boom: InviteStep = {
    name: 'boom',
    run: () => {
      throw new Error('boom');
    },
  };
  const first = invite('100');
  await runInviteChain([boom], { request: first.request, log });
  assert.equal(first.rejected, [{ statusCode: 500, reasonPhrase: 'Server Internal Error' }]);
  const second = invite('100');
  await runInviteChain([{ name: 'pass', run: () => next }], { request: second.request, log });
  assert.equal(second.rejected, [{ statusCode: 500, reasonPhrase: 'Server Internal Error' }]);
});

test.run();
