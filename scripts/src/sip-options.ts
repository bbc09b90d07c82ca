import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/** host:port, with brackets around an IPv6 address. */
export function hostPort(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Sends a SIP OPTIONS over UDP to `host:port` and resolves true when it is answered 200: the
 * launcher's health check of Kamailio. False on any other answer, or none within `timeoutMs`.
 * Like any SIP client over UDP it retransmits (every 50 ms, doubling): a datagram sent before
 * Kamailio bound its socket is simply lost.
 */
export function sipOptionsAnswered(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const callId = `${randomBytes(8).toString('hex')}@deskline-launcher`;
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(retransmit);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    let retransmit: NodeJS.Timeout | undefined;
    socket.once('error', () => done(false));
    socket.on('message', (data) => {
      const text = data.toString('latin1');
      const status = /^SIP\/2\.0 (\d{3}) /.exec(text)?.[1];
      // 1xx would be provisional; an OPTIONS is answered finally, and only 200 means healthy.
      if (!status || !text.includes(callId) || status.startsWith('1')) return;
      done(status === '200');
    });
    socket.bind(0, () => {
      const local = socket.address();
      const target = hostPort(host, port);
      const message = [
        `OPTIONS sip:${target} SIP/2.0`,
        `Via: SIP/2.0/UDP ${hostPort(local.address, local.port)};rport;branch=z9hG4bK${randomBytes(8).toString('hex')}`,
        'Max-Forwards: 70',
        `From: <sip:launcher@${target}>;tag=${randomBytes(4).toString('hex')}`,
        `To: <sip:${target}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'User-Agent: Deskline launcher',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const send = (interval: number): void => {
        socket.send(message, port, host, (err) => {
          if (err) done(false);
        });
        retransmit = setTimeout(() => send(interval * 2), interval);
      };
      send(50);
    });
  });
}
