/**
 * The smallest ng-protocol client that the launcher's health check and the tests need: bencode, and
 * one request/answer over UDP. The sip app has its own typed client (sip/src/media/).
 * ng: each datagram is "<cookie> <bencoded dictionary>"; the answer repeats the cookie.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

export type Bencode = string | number | Buffer | Bencode[] | { [key: string]: Bencode };

export function bencode(value: Bencode): Buffer {
  if (typeof value === 'number') return Buffer.from(`i${Math.trunc(value)}e`);
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
    return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes]);
  }
  if (Array.isArray(value)) return Buffer.concat([Buffer.from('l'), ...value.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(value).sort();
  return Buffer.concat([
    Buffer.from('d'),
    ...keys.flatMap((k) => [bencode(k), bencode(value[k] as Bencode)]),
    Buffer.from('e'),
  ]);
}

/** Decodes bencode; byte strings become UTF-8 strings (rtpengine's answers are text, SDP included). */
export function bdecode(data: Buffer): Bencode {
  let at = 0;
  const parse = (): Bencode => {
    const c = String.fromCharCode(data[at] ?? 0);
    if (c === 'i') {
      const end = data.indexOf(0x65, at);
      if (end < 0) throw new Error('bencode: unterminated integer');
      const n = Number(data.subarray(at + 1, end).toString());
      at = end + 1;
      return n;
    }
    if (c === 'l' || c === 'd') {
      at++;
      const items: Bencode[] = [];
      while (data[at] !== 0x65) {
        if (at >= data.length) throw new Error('bencode: unterminated list or dictionary');
        items.push(parse());
      }
      at++;
      if (c === 'l') return items;
      const dict: Record<string, Bencode> = {};
      for (let i = 0; i < items.length; i += 2) dict[String(items[i])] = items[i + 1] as Bencode;
      return dict;
    }
    const colon = data.indexOf(0x3a, at);
    const length = Number(data.subarray(at, colon).toString());
    if (colon < 0 || !Number.isInteger(length)) throw new Error(`bencode: bad string at byte ${at}`);
    const text = data.subarray(colon + 1, colon + 1 + length).toString();
    at = colon + 1 + length;
    return text;
  };
  return parse();
}

/**
 * Sends one ng command and resolves with rtpengine's answer dictionary. Like every ng client it
 * retransmits (after 50 ms, doubling) with the same cookie, which rtpengine answers from its cache:
 * a datagram sent before rtpengine bound its socket is simply lost.
 */
export function ngRequest(
  host: string,
  port: number,
  command: Record<string, Bencode>,
  timeoutMs = 2000,
): Promise<Record<string, Bencode>> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const cookie = randomBytes(8).toString('hex');
    let retransmit: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(retransmit);
      socket.close();
      settle();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new Error(
              `rtpengine at ${host}:${port} did not answer "${String(command['command'])}" within ${timeoutMs} ms`,
            ),
          ),
        ),
      timeoutMs,
    );
    socket.once('error', (err) => finish(() => reject(err)));
    socket.on('message', (data) => {
      const space = data.indexOf(0x20);
      if (space < 0 || data.subarray(0, space).toString() !== cookie) return;
      try {
        const answer = bdecode(data.subarray(space + 1));
        if (typeof answer !== 'object' || Array.isArray(answer) || Buffer.isBuffer(answer))
          throw new Error('ng answer is not a dictionary');
        finish(() => resolve(answer));
      } catch (err) {
        finish(() => reject(err));
      }
    });
    const datagram = Buffer.concat([Buffer.from(`${cookie} `), bencode(command)]);
    const send = (interval: number): void => {
      socket.send(datagram, port, host, (err) => {
        if (err) finish(() => reject(err));
      });
      retransmit = setTimeout(() => send(interval * 2), interval);
    };
    send(50);
  });
}

/** The launcher's health check of rtpengine: true when `ping` is answered `pong`. */
export async function ngPing(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const answer = await ngRequest(host, port, { command: 'ping' }, timeoutMs).catch(() => undefined);
  return answer?.['result'] === 'pong';
}
