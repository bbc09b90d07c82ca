import type { IncomingRequestMessage } from 'sip.js/lib/core/index.js';
import { next, reject, type InviteStep } from './invite-chain.js';

/**
 * Patient calls reach the sip app only through Kamailio, which admits INVITEs from the trunk
 * addresses alone. This step holds the sip app to that: a request that did not come over the
 * Kamailio connection is refused.
 */
export function identifyTrunk(cameFromKamailio: (message: IncomingRequestMessage) => boolean): InviteStep {
  return {
    name: 'identify-trunk',
    run: ({ request }) =>
      cameFromKamailio(request.message) ? next : reject(403, 'Forbidden', 'INVITE did not come through Kamailio'),
  };
}
