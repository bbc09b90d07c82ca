import net from 'node:net';

/** Asks the kernel for a TCP port that is free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the kernel chose'));
      });
    });
  });
}

/**
 * Fails with a message a person can act on when `port` is already taken,
 * before a child process would fail with a less helpful one.
 */
export function assertPortFree(host: string, port: number, what: string, envName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`${what}: port ${port} on ${host} is already in use by another program. ` +
          `Stop that program, or choose another port with ${envName}=<port>.`));
      } else {
        reject(new Error(`${what}: cannot listen on ${host}:${port}: ${err.message}`));
      }
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
