import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadConfig, type Config } from './config.js';

/** Startup failures (bad config, Redis unreachable) end the process with one clear line, not a stack. */
function fail(err: unknown): never {
  console.error(`signaling: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

let config: Config;
let app: FastifyInstance;
try {
  config = loadConfig(process.env);
  app = await buildApp(config, {
    logger: {
      level: config.LOG_LEVEL,
      redact: [
        'req.headers.cookie',
        'req.headers.authorization',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
      ],
    },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    forceCloseConnections: 'idle',
    // While it stops, a request that still arrives on an open keep-alive connection is served (with
    // `Connection: close`), not answered 503: the proxy would hand that 503 to the user, where a
    // served request is simply done, once.
    return503OnClosing: false,
  });
} catch (err) {
  fail(err);
}

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    // First out of the load balancer's rotation (its health check sees 503), serving as usual; then
    // stops accepting, closes the push sockets with the restart code (panels reconnect to another
    // instance at once), lets the requests in flight finish, and exits (docs/scaling.md, "Two
    // signaling instances").
    const started = performance.now();
    const drainMs = config.SHUTDOWN_DRAIN_SECONDS * 1000;
    app.lifecycle.draining = true;
    app.log.info({ signal, sockets: app.push.size, drainMs }, 'shutting down');
    setTimeout(() => process.exit(1), drainMs + 10_000).unref();
    const drained = new Promise((resolve) => setTimeout(resolve, drainMs));
    drained
      .then(() => app.close())
      .then(
        () => {
          app.log.info({ ms: Math.round(performance.now() - started) }, 'stopped');
          process.exit(0);
        },
        (err: unknown) => {
          app.log.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
  });
}

try {
  await app.listen({ host: config.HOST, port: config.PORT });
} catch (err) {
  await app.close().catch(() => undefined);
  fail(err);
}
