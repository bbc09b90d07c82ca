import { next, reject, type InviteStep } from './invite-chain.js';

/**
 * rtpengine needs the patient's SDP offer to set up the queue's media. INVITEs without one (late
 * offer) are refused with 488; trunks and PBXs send an offer in the INVITE as a rule.
 */
export const requireSdpOffer: InviteStep = {
  name: 'require-sdp-offer',
  run: ({ request }) => {
    const contentType = request.message.getHeader('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/sdp' || request.message.body.trim() === '') {
      return reject(488, 'Not Acceptable Here', 'INVITE has no SDP offer');
    }
    return next;
  },
};
