import http from 'node:http';

/**
 * GET /health on a loopback port, for the launcher and Docker's healthcheck: 200 while the sip app
 * holds its connection to Kamailio (and so can take calls), 503 otherwise.
 */
export function startHealthServer(options: {
  host: string;
  port: number;
  connected: () => boolean;
}): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404).end();
      return;
    }
    const ok = options.connected();
    response
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', kamailio: ok ? 'connected' : 'disconnected' }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve health checks on ${options.host}:${options.port}: ${err.code ?? err.message}`)),
    );
    server.listen(options.port, options.host, () => resolve(server));
  });
}
