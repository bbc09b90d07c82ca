/**
 * When a sip app instance missing from CLIENT LIST counts as dead (sip/src/instance.ts): only once the
 * reader's own connection is RECONNECT_GRACE_SECONDS old, so that right after a Redis restart or a
 * Sentinel failover an instance not yet reconnected is not taken for dead. The integration test
 * tests/integration/redis/two-instances-failover.test.ts shows it with real Redis and two apps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { RECONNECT_GRACE_SECONDS, readInstances } from '@deskline/store';

/** A Redis whose CLIENT LIST is `lines` (all else throws: nothing else may be asked). */
function listing(...lines: string[]): Redis {
  return {
    call: async (...args: string[]) => {
      assert.equal(args, ['CLIENT', 'LIST']);
      return `${lines.join('\n')}\n`;
    },
  } as unknown as Redis;
}

const client = (name: string, age: number): string =>
  `id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=${name} age=${age} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 cmd=client|list user=default resp=2`;

test('a young connection of its own (after a failover or at its start): the list is not settled', async () => {
  const list = await readInstances(
    listing(client('sip-app:me', RECONNECT_GRACE_SECONDS - 1), client('sip-router', 400)),
    'me',
  );
  assert.equal([...list.live], ['me']);
  assert.is(list.settled, false, 'an instance missing now may only not be back yet');
});

test('its own connection old enough: settled, and whoever is missing is gone', async () => {
  const list = await readInstances(
    listing(client('sip-app:other', 0), client('sip-app:me', RECONNECT_GRACE_SECONDS), client('signaling-push', 2)),
    'me',
  );
  assert.equal([...list.live].sort(), ['me', 'other']);
  assert.is(list.settled, true);
});

test("another instance's old connection does not settle the reader's young one", async () => {
  const list = await readInstances(listing(client('sip-app:other', 500), client('sip-app:me', 0)), 'me');
  assert.is(list.settled, false);
});

test('its own connection not listed (another Redis user, a name not set): never settled', async () => {
  const list = await readInstances(
    listing(client('sip-app:other', 500), client('sip-app:meme', 500), client('sip-app:me-too', 500)),
    'me',
  );
  assert.equal([...list.live].sort(), ['me-too', 'meme', 'other']);
  assert.is(list.settled, false);
});

test('names that only look like an instance (in another field) are no instance', async () => {
  const list = await readInstances(
    listing('id=9 addr=x name=test age=9 cmd=get lib-name=sip-app:x', client('sip-app:me', 10)),
    'me',
  );
  assert.equal([...list.live], ['me']);
});

test.run();
