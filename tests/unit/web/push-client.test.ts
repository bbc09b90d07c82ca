/**
 * The web app's push client drops a task when the server says it is no longer this user's to see
 * (`task-gone`), stops for good on the session-ended close code, and reconnects at once on the
 * server-restarting one, taking the whole state from the new hello. A real WebSocket server on
 * 127.0.0.1 plays signaling (`ws`); the client uses Node's own WebSocket, the WHATWG one a browser has.
 */
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  PUSH_SERVER_RESTARTING_CLOSE_CODE,
  PUSH_SESSION_ENDED_CLOSE_CODE,
  type CallView,
  type PushEvent,
  type TaskView,
} from '@deskline/protocol';

const { PushClient, RESTART_RECONNECT_SPREAD_MS } = await import('@deskline/web/build/services/push-client.js');

function task(id: string, fields: Partial<TaskView> = {}): TaskView {
  return {
    id,
    patient: '+4930123',
    status: 'incoming',
    callIds: [],
    attempts: 0,
    callbacks: [],
    problems: [],
    createdAt: 0,
    updatedAt: 0,
    ...fields,
  };
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

function call(id: string, state: CallView['state']): CallView {
  return { id, from: '+4930123', line: '100', state, startedAt: 0 };
}

test('the server-restarting close: the client reconnects at once, and the new hello replaces what changed meanwhile; any other close backs off', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const connections: WebSocket[] = [];
  const connectedAt: number[] = [];
  server.on('connection', (socket) => {
    connections.push(socket);
    connectedAt.push(Date.now());
  });
  const connection = async (n: number): Promise<WebSocket> => {
    const deadline = Date.now() + 5000;
    while (connections.length < n) {
      if (Date.now() > deadline) throw new Error(`no connection ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return connections[n - 1]!;
  };
  const client = new PushClient(() => `ws://127.0.0.1:${port}/api/push`);
  client.start();
  const first = await connection(1);
  first.send(
    JSON.stringify({
      type: 'hello',
      calls: [call('c1', 'waiting')],
      team: [],
      tasks: [task('t1')],
    } satisfies PushEvent),
  );
  await changed(client, () => client.calls.size === 1 && client.status === 'connected', 'the first hello');

  const closedAt = Date.now();
  first.close(PUSH_SERVER_RESTARTING_CLOSE_CODE, 'server restarting');
  const second = await connection(2);
  const after = (connectedAt[1] ?? 0) - closedAt;
  assert.ok(after <= RESTART_RECONNECT_SPREAD_MS + 150, `reconnected ${after} ms after the close`);
  assert.is(client.status, 'reconnecting');
  // Meanwhile c1 was answered elsewhere and ended, c2 arrived, t1 was closed and t2 made.
  second.send(
    JSON.stringify({
      type: 'hello',
      calls: [call('c2', 'waiting')],
      team: [],
      tasks: [task('t2')],
    } satisfies PushEvent),
  );
  await changed(client, () => client.status === 'connected', 'the second hello');
  assert.equal([...client.calls.keys()], ['c2']);
  assert.equal([...client.tasks.keys()], ['t2']);

  // A close without the restart code (a network drop) waits half a second at least.
  const droppedAt = Date.now();
  second.terminate();
  await connection(3);
  const backoff = (connectedAt[2] ?? 0) - droppedAt;
  assert.ok(backoff >= 450, `backed off ${backoff} ms`);
  client.stop();
  await new Promise((resolve) => server.close(resolve));
});

test.run();
