/**
 * The sip app spends a callback grant only for an INVITE that Kamailio authenticated as a browser's
 * (X-Deskline-Callback-By, added in BROWSER_CALLBACK; Kamailio strips the header from anyone else):
 * a trunk or anything else that learnt a token cannot spend it (docs/security.md).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { IncomingInviteRequest } from 'sip.js/lib/core/index.js';
import { Grammar } from 'sip.js/lib/core/index.js';
import { CALLBACK_AUTHENTICATED_HEADER, type CallbackGrant } from '@deskline/protocol';
import type { CallbackDeps } from '@deskline/sip/callbacks/callback-call';
import type { CallbackRegistry } from '@deskline/sip/callbacks/callback-registry';
import type { CallbackStore } from '@deskline/sip/callbacks/callback-store';
import { placeCallback } from '@deskline/sip/inbound/place-callback';

const log = pino({ level: 'silent' });
const TOKEN = 'ab'.repeat(16);
const GRANT: CallbackGrant = {
  callbackId: 'cb1',
  taskId: 't1',
  number: '+48600100200',
  userId: 'u1',
  workstationId: 'reception-1',
  sipUser: 'ws-reception-1',
  grantedAt: 0,
};

function setUp(headers: Record<string, string>, deps: CallbackDeps | undefined) {
  const taken: string[] = [];
  const store = {
    takeGrant: async (token: string) => (taken.push(token), GRANT),
    holdLock: async () => false,
  } as unknown as CallbackStore;
  const step = placeCallback({ deps, store, registry: {} as CallbackRegistry });
  const message = {
    ruri: Grammar.URIParse(`sip:cb-${TOKEN}@deskline.local`),
    from: { uri: Grammar.URIParse('sip:ws-reception-1@deskline.local') },
    body: 'v=0\r\n',
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  const request = { message } as unknown as IncomingInviteRequest;
  return { run: () => step.run({ request, log }), taken };
}

const deps = {} as CallbackDeps;
const by = (user: string) => ({
  [CALLBACK_AUTHENTICATED_HEADER.toLowerCase()]: user,
  'content-type': 'application/sdp',
});

test("a callback INVITE without Kamailio's header is refused with 403 and the grant is not taken", async () => {
  const { run, taken } = setUp({ 'content-type': 'application/sdp' }, deps);
  const outcome = await run();
  assert.ok('reject' in outcome && outcome.reject.statusCode === 403, JSON.stringify(outcome));
  assert.equal(taken, []);
});

test('an INVITE authenticated as another workstation\'s SIP user gets 403 "Not Your Callback", whatever its From says', async () => {
  const { run, taken } = setUp(by('ws-reception-2'), deps);
  const outcome = await run();
  assert.ok(
    'reject' in outcome && outcome.reject.statusCode === 403 && outcome.reject.reasonPhrase === 'Not Your Callback',
    JSON.stringify(outcome),
  );
  assert.equal(taken, [TOKEN]);
});

test("the granted workstation's authenticated INVITE goes on to the grant's checks", async () => {
  const { run, taken } = setUp(by('ws-reception-1'), deps);
  const outcome = await run();
  // holdLock (stubbed) says another callback has the task: the step got past every check before it.
  assert.ok(
    'reject' in outcome && outcome.reject.reasonPhrase === 'Task Already Being Called',
    JSON.stringify(outcome),
  );
  assert.equal(taken, [TOKEN]);
});

test.run();
