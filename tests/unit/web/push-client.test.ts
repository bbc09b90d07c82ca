/**
 * The web app's push client drops a task when the server says it is no longer this user's to see
 * (`task-gone`), and stops for good on the session-ended close code. A real WebSocket server on
 * 127.0.0.1 plays signaling; Node 20 has no WebSocket of its own, so the client gets `ws`'s.
 */
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { PUSH_SESSION_ENDED_CLOSE_CODE, type PushEvent, type TaskView } from '@deskline/protocol';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const { PushClient } = await import('@deskline/web/build/services/push-client.js');

function task(id: string, fields: Partial<TaskView> = {}): TaskView {
  return { id, patient: '+4930123', status: 'incoming', callIds: [], attempts: 0, callbacks: [], problems: [], createdAt: 0, updatedAt: 0, ...fields };
}

/** Resolves once `check` holds after a change event of `client`. */
function changed(client: EventTarget, check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
    const listener = (): void => {
      if (!check()) return;
      clearTimeout(timer);
      client.removeEventListener('change', listener);
      resolve();
    };
    client.addEventListener('change', listener);
    listener();
  });
}

test('task-gone removes the task; the session-ended close stops the client and says so', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const connected = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new PushClient(() => `ws://127.0.0.1:${port}/api/push`);
  client.start();
  const socket = await connected;
  const send = (event: PushEvent): void => socket.send(JSON.stringify(event));

  send({ type: 'hello', calls: [], team: [], tasks: [task('t1'), task('t2')] });
  await changed(client, () => client.tasks.size === 2, 'the hello');
  send({ type: 'task-gone', taskId: 't1' });
  await changed(client, () => !client.tasks.has('t1'), 't1 to go');
  assert.equal([...client.tasks.keys()], ['t2']);

  const ended = new Promise<void>((resolve) => client.addEventListener('session-ended', () => resolve()));
  socket.close(PUSH_SESSION_ENDED_CLOSE_CODE, 'session ended');
  await ended;
  assert.is(client.status, 'stopped');
  assert.is(client.tasks.size, 0);
  await new Promise((resolve) => server.close(resolve));
});

test.run();
