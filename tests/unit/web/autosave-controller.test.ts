/**
 * How a task's editors save (web/src/controllers/autosave-controller.ts): a change waits for its
 * delay and only the last one is sent, a flush sends it at once, only the answer to the latest save
 * counts, a refusal says why, and a host that goes away does not lose what was typed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const { AutosaveController } = await import('@deskline/web/build/controllers/autosave-controller.js');
const { ApiRequestError, UNREACHABLE_MESSAGE } = await import('@deskline/web/build/services/api-client.js');

/** Enough of a Lit element for a controller: it is added, and asked to render. */
class Host {
  controllers: Array<{ hostDisconnected?(): void }> = [];
  updates = 0;
  addController(controller: { hostDisconnected?(): void }): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates += 1;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
  disconnect(): void {
    for (const controller of this.controllers) controller.hostDisconnected?.();
  }
}

/** A server whose answers the test gives, one request at a time. */
class Server {
  requests: Array<{ value: string; answer(result: string): void; refuse(error: unknown): void }> = [];
  save = (value: string): Promise<string> =>
    new Promise((resolve, reject) => this.requests.push({ value, answer: resolve, refuse: reject }));
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function editor(options: { delayMs?: number; keepFailed?: boolean; isSaved?: (value: string) => boolean } = {}) {
  const host = new Host();
  const server = new Server();
  const saved: string[] = [];
  const autosave = new AutosaveController<string, string>(host, {
    save: server.save,
    saved: (result: string) => saved.push(result),
    ...options,
  });
  return { host, server, saved, autosave };
}

test('typing waits for the delay; leaving the field sends only the last text', async () => {
  const { server, saved, autosave } = editor({ delayMs: 60_000 });
  autosave.edit('Call');
  autosave.edit('Call again');
  assert.ok(autosave.waiting);
  assert.is(autosave.state.state, 'idle');
  assert.is(server.requests.length, 0);
  const flushed = autosave.flush();
  assert.equal(
    server.requests.map((request) => request.value),
    ['Call again'],
  );
  assert.is(autosave.state.state, 'saving');
  server.requests[0]!.answer('task v2');
  await flushed;
  assert.is(autosave.state.state, 'saved');
  assert.is(autosave.draft, undefined);
  assert.equal(saved, ['task v2']);
});

test('a change with no delay is sent at once', () => {
  const { server, autosave } = editor();
  autosave.edit('subject-1');
  assert.equal(
    server.requests.map((request) => request.value),
    ['subject-1'],
  );
  assert.is(autosave.state.state, 'saving');
});

test('only the answer to the latest save counts', async () => {
  const { server, saved, autosave } = editor();
  autosave.edit('subject-1');
  autosave.edit('subject-2');
  server.requests[0]!.answer('with subject-1');
  await settle();
  assert.is(autosave.state.state, 'saving');
  assert.is(autosave.draft, 'subject-2');
  server.requests[1]!.answer('with subject-2');
  await settle();
  assert.is(autosave.state.state, 'saved');
  assert.equal(saved, ['with subject-2']);
});

test('an answer for text typed over meanwhile is ignored; the new text stays', async () => {
  const { server, saved, autosave } = editor({ delayMs: 60_000 });
  autosave.edit('Call');
  void autosave.flush();
  autosave.edit('Call again');
  server.requests[0]!.answer('with Call');
  await settle();
  assert.is(autosave.draft, 'Call again');
  assert.is(autosave.state.state, 'idle');
  assert.equal(saved, []);
  assert.ok(autosave.waiting);
});

test("a refusal says why; typed text is kept, a choice goes back to the server's", async () => {
  const typed = editor({ delayMs: 60_000, keepFailed: true });
  typed.autosave.edit('Call again');
  const flushed = typed.autosave.flush();
  typed.server.requests[0]!.refuse(new ApiRequestError(0, UNREACHABLE_MESSAGE));
  await flushed;
  assert.equal(typed.autosave.state, { state: 'error', message: UNREACHABLE_MESSAGE });
  assert.is(typed.autosave.draft, 'Call again');

  const chosen = editor();
  chosen.autosave.edit('subject-1');
  chosen.server.requests[0]!.refuse(new ApiRequestError(409, 'The task is closed.'));
  await settle();
  assert.equal(chosen.autosave.state, { state: 'error', message: 'The task is closed.' });
  assert.is(chosen.autosave.draft, undefined);
});

test('after a refusal the next change tries again', async () => {
  const { server, autosave } = editor({ delayMs: 60_000, keepFailed: true });
  autosave.edit('Call again');
  void autosave.flush();
  server.requests[0]!.refuse(new Error('offline'));
  await settle();
  autosave.edit('Call again at 14:30');
  assert.is(autosave.state.state, 'idle');
  void autosave.flush();
  assert.equal(
    server.requests.map((request) => request.value),
    ['Call again', 'Call again at 14:30'],
  );
});

test('text the server already has is not sent', async () => {
  const { server, autosave } = editor({ delayMs: 60_000, isSaved: (value) => value === 'as stored' });
  autosave.edit('as stored');
  await autosave.flush();
  assert.is(server.requests.length, 0);
  assert.is(autosave.draft, undefined);
});

test('a push that shows the choice before the answer: the answer still says saved', async () => {
  const { server, saved, autosave } = editor();
  autosave.edit('subject-1');
  autosave.settle();
  assert.is(autosave.draft, undefined);
  server.requests[0]!.answer('with subject-1');
  await settle();
  assert.is(autosave.state.state, 'saved');
  assert.equal(saved, ['with subject-1']);
});

test('a host that goes away sends what was still waiting, and nothing else', () => {
  const { host, server, autosave } = editor({ delayMs: 60_000 });
  host.disconnect();
  assert.is(server.requests.length, 0);
  autosave.edit('Call again');
  host.disconnect();
  assert.equal(
    server.requests.map((request) => request.value),
    ['Call again'],
  );
  assert.not.ok(autosave.waiting);
});

test.run();
