/**
 * The tests' event recorder (tests/helpers/recorder.ts): every wait in the integration and e2e tests
 * goes through it, so it must find what already arrived, what arrives later, and fail on time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Recorder } from '../../helpers/recorder.js';

test('waitFor resolves at once with an item already recorded', async () => {
  const recorder = new Recorder<number>('numbers');
  recorder.add(1);
  recorder.add(2);
  assert.is(await recorder.waitFor('an even number', (n) => n % 2 === 0, 0, 50), 2);
});

test('waitFor resolves with an item recorded later, as soon as it is', async () => {
  const recorder = new Recorder<string>('words');
  const started = Date.now();
  const found = recorder.waitFor('a word starting with b', (w) => w.startsWith('b'), 0, 1000);
  setTimeout(() => recorder.add('apple'), 10);
  setTimeout(() => recorder.add('banana'), 30);
  assert.is(await found, 'banana');
  assert.ok(Date.now() - started < 500, 'resolved when the item came, not at the timeout');
});

test('waitFor looks only from `from` on: a mark skips what came before', async () => {
  const recorder = new Recorder<string>('states');
  recorder.add('ringing');
  const mark = recorder.mark();
  assert.is(mark, 1);
  const next = recorder.waitFor('ringing', (s) => s === 'ringing', mark, 1000);
  recorder.add('answered');
  recorder.add('ringing');
  assert.is(await next, 'ringing');
  assert.is(recorder.items.length, 3);
});

test('a wait fails after its timeout, naming the recorder, what it waited for and what was recorded', async () => {
  const recorder = new Recorder<number>('counter', (items) => items.join(','));
  recorder.add(1);
  recorder.add(3);
  const started = Date.now();
  const error = await recorder
    .waitFor('an even number', (n) => n % 2 === 0, 0, 100)
    .then(
      () => undefined,
      (err: Error) => err,
    );
  const elapsed = Date.now() - started;
  assert.instance(error, Error);
  assert.is(error?.message, 'counter: timed out after 100 ms waiting for an even number; recorded: 1,3');
  assert.ok(elapsed >= 95 && elapsed < 1000, `failed at its timeout (${elapsed} ms)`);
});

test('waitUntil resolves with the first defined value of a check over all items', async () => {
  const recorder = new Recorder<number>('packets');
  const third = recorder.waitUntil(
    'three packets',
    (items) => (items.length >= 3 ? items.reduce((a, b) => a + b, 0) : undefined),
    1000,
  );
  for (const n of [1, 2, 3, 4]) recorder.add(n);
  assert.is(await third, 6);
});

test('changed() re-checks the waits when items change in place', async () => {
  const recorder = new Recorder<{ messages: string[] }>('connections');
  const connection = { messages: [] as string[] };
  recorder.add(connection);
  const bye = recorder.waitUntil('a BYE', (items) => items[0]?.messages.find((m) => m.startsWith('BYE')), 1000);
  connection.messages.push('BYE sip:a@b SIP/2.0');
  recorder.changed();
  assert.is(await bye, 'BYE sip:a@b SIP/2.0');
});

test('a settled wait stops listening, and clear() drops what was recorded', async () => {
  const recorder = new Recorder<number>('numbers');
  const first = recorder.waitFor('one', (n) => n === 1, 0, 1000);
  recorder.add(1);
  assert.is(await first, 1);
  const timedOut = recorder.waitFor('two', (n) => n === 2, 0, 20).catch((err: Error) => err.message);
  assert.match(String(await timedOut), /timed out after 20 ms waiting for two \(1 recorded\)/);
  recorder.clear();
  assert.is(recorder.items.length, 0);
  assert.is(recorder.mark(), 0);
});

test.run();
