import { carriesAudio } from '../media/sdp.js';
import { next, reject, type InviteStep } from './invite-chain.js';

/**
 * The INVITE's offer must name an audio codec the call can carry (see `carriesAudio`): answering
 * one that does not (G.722 alone, say) would connect a call in which the patient hears silence, so
 * it gets 488. An INVITE without a body is a late offer: our offer goes in the 200 (PatientCall). A
 * body that is not SDP (multipart, say) cannot be read as the offer it may carry: 488 too.
 */
export const requireAudioOffer: InviteStep = {
  name: 'require-audio-offer',
  run: ({ request }) => {
    const body = request.message.body.trim();
    if (body === '') return next;
    const contentType = request.message.getHeader('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/sdp') return reject(488, 'Not Acceptable Here', 'the INVITE body is not SDP');
    if (!carriesAudio(body))
      return reject(488, 'Not Acceptable Here', 'the offer has no audio codec we can carry (PCMU or PCMA)');
    return next;
  },
};
