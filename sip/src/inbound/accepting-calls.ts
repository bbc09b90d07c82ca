import { next, reject, type InviteStep } from './invite-chain.js';

/** While the app shuts down it takes no new calls; Kamailio or the trunk can try elsewhere. */
export function acceptingCalls(isStopping: () => boolean): InviteStep {
  return {
    name: 'accepting-calls',
    run: () => (isStopping() ? reject(503, 'Service Unavailable', 'shutting down; refusing a new call') : next),
  };
}
