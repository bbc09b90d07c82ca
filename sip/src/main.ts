import { buildSipApp, type SipApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

/** Startup failures (bad config, Redis or rtpengine unreachable) end the process with one clear line. */
function fail(err: unknown): never {
  console.error(`sip: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

let config: Config;
let log: Logger;
let app: SipApp;
try {
  config = loadConfig(process.env);
  log = createLogger(config);
  app = await buildSipApp(config, log);
} catch (err) {
  fail(err);
}

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    app.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  });
}

app.start();
