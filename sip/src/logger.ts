import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/** JSON lines on stdout, like signaling's, so the launcher formats both the same way. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: DestinationStream): Logger {
  const options = { name: 'sip', level: config.LOG_LEVEL };
  return destination ? pino(options, destination) : pino(options);
}
