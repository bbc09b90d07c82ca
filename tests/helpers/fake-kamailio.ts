import net from 'node:net';
import { SipStreamFramer } from '@deskline/sip/sip/stream-framer';
import { Recorder } from './recorder.js';

/** One TCP connection the sip app opened to the fake Kamailio. */
export interface FakeConnection {
  socket: net.Socket;
  remotePort: number;
  /** Every SIP message received on it. */
  messages: string[];
}

/**
 * Stands in for Kamailio on the TCP side only, so a test can send the sip app what a real Kamailio
 * never would: garbage, broken SIP, a connection cut mid-stream.
 */
export class FakeKamailio {
  private readonly recorder = new Recorder<FakeConnection>('fake Kamailio');

  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => {
      const connection: FakeConnection = { socket, remotePort: socket.remotePort ?? 0, messages: [] };
      this.recorder.add(connection);
      const framer = new SipStreamFramer();
      socket.on('data', (chunk: Buffer) => {
        for (const message of framer.push(chunk)) {
          connection.messages.push(message);
          if (message.startsWith('OPTIONS ')) socket.write(okFor(message));
        }
        this.recorder.changed();
      });
      socket.on('error', () => undefined);
    });
  }

  static async listen(): Promise<FakeKamailio> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new FakeKamailio(server);
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  /** Every connection the sip app opened, in order. */
  get connections(): readonly FakeConnection[] {
    return this.recorder.items;
  }

  /** Resolves once `check` holds, re-checking on every connection and message. */
  waitUntil<T>(what: string, check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
    return this.recorder.waitUntil(what, check, timeoutMs);
  }

  /** The first message on `connection` from index `from` on that starts with `start`. */
  waitForMessage(connection: FakeConnection, start: string, from = 0, timeoutMs = 5_000): Promise<string> {
    return this.waitUntil(
      `a message starting "${start}"`,
      () => connection.messages.slice(from).find((m) => m.startsWith(start)),
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    for (const { socket } of this.connections) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A 200 OK answering the request `message`, as Kamailio's options_reply() would. */
export function okFor(message: string): string {
  const headers = message.split('\r\n');
  const copy = (name: string): string[] =>
    headers.filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const to = copy('To').map((line) => (/;tag=/i.test(line) ? line : `${line};tag=fake`));
  return [
    'SIP/2.0 200 OK',
    ...copy('Via'),
    ...copy('From'),
    ...to,
    ...copy('Call-ID'),
    ...copy('CSeq'),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
