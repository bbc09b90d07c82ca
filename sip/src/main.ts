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

/** A stop that has not finished by then (Redis or Kamailio stuck) exits all the same. */
const STOP_TIMEOUT_MS = 10_000;
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) {
      // A second signal: whoever sent it does not want to wait.
      log.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    closing = true;
    log.info({ signal, endCalls: config.SIP_END_CALLS_ON_STOP }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
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
