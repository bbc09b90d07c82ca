import { CALLBACK_AUTHENTICATED_HEADER, CALLBACK_TARGET_PREFIX, CALLBACK_TOKEN_PATTERN } from '@deskline/protocol';
import { Callback, type CallbackDeps } from '../callbacks/callback-call.js';
import type { CallbackRegistry } from '../callbacks/callback-registry.js';
import type { CallbackStore } from '../callbacks/callback-store.js';
import { next, reject, taken, type InviteStep } from './invite-chain.js';

/**
 * A browser calls a patient back (docs/call-board.md, "Callbacks"): the Request-URI user is
 * `cb-<token>`. Only an INVITE that Kamailio authenticated as a browser's (CALLBACK_AUTHENTICATED_HEADER)
 * may spend a grant; the grant is taken (once), it must be the authenticated SIP user's, and the
 * Callback calls the grant's number through the outbound trunk. Any other INVITE goes on to the
 * patient-call steps.
 */
export function placeCallback(options: {
  /** Undefined without OUTBOUND_TRUNK: callbacks are refused with 503. */
  deps: CallbackDeps | undefined;
  store: CallbackStore;
  registry: CallbackRegistry;
}): InviteStep {
  return {
    name: 'place-callback',
    run: async ({ request, log }) => {
      const user = request.message.ruri?.user ?? '';
      if (!user.startsWith(CALLBACK_TARGET_PREFIX)) return next;
      const token = user.slice(CALLBACK_TARGET_PREFIX.length);
      if (!CALLBACK_TOKEN_PATTERN.test(token))
        return reject(404, 'Not Found', 'callback target with a malformed token');
      const { deps, store, registry } = options;
      // A trunk's INVITE to a callback target (or anything Kamailio did not authenticate) never
      // touches the grant: whoever learnt a token cannot spend it.
      const by = request.message.getHeader(CALLBACK_AUTHENTICATED_HEADER)?.trim() ?? '';
      if (by === '')
        return reject(
          403,
          'Forbidden',
          `callback INVITE without ${CALLBACK_AUTHENTICATED_HEADER}: not a browser's, authenticated by Kamailio`,
        );
      if (!deps) return reject(503, 'No outbound trunk configured', 'a callback, but OUTBOUND_TRUNK is not set');
      // Taken before any other check: a token is spent by its first use, whatever becomes of it.
      const grant = await store.takeGrant(token);
      if (!grant)
        return reject(
          404,
          'Callback Expired Or Used',
          'no callback grant under this token (expired, used, or never given)',
        );
      if (by !== grant.sipUser) {
        return reject(
          403,
          'Not Your Callback',
          `callback ${grant.callbackId} was granted to ${grant.sipUser}, the INVITE is authenticated as ${JSON.stringify(by)}`,
        );
      }
      const contentType = request.message.getHeader('content-type')?.split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/sdp' || request.message.body.trim() === '') {
        return reject(488, 'Not Acceptable Here', 'callback INVITE has no SDP offer');
      }
      if (!(await store.holdLock(grant.taskId, grant.callbackId))) {
        return reject(
          403,
          'Task Already Being Called',
          `task ${grant.taskId} is being called back by another callback`,
        );
      }
      const callback = new Callback(request, grant, deps, log);
      registry.add(callback);
      callback.dial().catch((err: unknown) => {
        callback.log.error({ err }, 'the callback failed');
        void callback.end('media-failed', 'failed');
      });
      return taken;
    },
  };
}
