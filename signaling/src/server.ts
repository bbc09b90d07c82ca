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
      redact: ['req.headers.cookie', 'req.headers.authorization', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]'],
    },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    forceCloseConnections: 'idle',
  });
} catch (err) {
  fail(err);
}

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    app.close().then(
      () => process.exit(0),
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
