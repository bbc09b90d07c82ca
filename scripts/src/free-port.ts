import dgram from 'node:dgram';
import net from 'node:net';

export type Protocol = 'tcp' | 'udp';

function listenTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => resolve(socket));
  });
}

/**
 * Asks the kernel for a port that is free on `host` right now, for TCP (the default) or for every
 * protocol listed: a SIP port needs the same number free for both UDP and TCP.
 */
export async function freePort(host = '127.0.0.1', protocols: readonly Protocol[] = ['tcp']): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const server = await listenTcp(host, 0);
    const address = server.address();
    const port = address && typeof address === 'object' ? address.port : 0;
    try {
      if (port === 0) throw new Error('could not read the port the kernel chose');
      if (!protocols.includes('udp')) return port;
      const socket = await bindUdp(host, port).catch(() => undefined);
      if (socket) {
        socket.close();
        return port;
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }
  throw new Error(`found no port free for ${protocols.join(' and ')} on ${host}`);
}

/**
 * Fails with a message a person can act on when `port` is already taken,
 * before a child process would fail with a less helpful one.
 */
export async function assertPortFree(
  host: string,
  port: number,
  what: string,
  envName: string,
  protocol: Protocol = 'tcp',
): Promise<void> {
  try {
    if (protocol === 'udp') (await bindUdp(host, port)).close();
    else {
      const server = await listenTcp(host, port);
      await new Promise((resolve) => server.close(resolve));
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const which = protocol === 'udp' ? 'UDP port' : 'port';
    if (code === 'EADDRINUSE') {
      throw new Error(
        `${what}: ${which} ${port} on ${host} is already in use by another program. ` +
          `Stop that program, or choose another port with ${envName}=<port>.`,
      );
    }
    throw new Error(
      `${what}: cannot listen on ${host}:${port}${protocol === 'udp' ? '/udp' : ''}: ${(err as Error).message}`,
    );
  }
}
