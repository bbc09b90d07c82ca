import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LaunchConfigError, checkEphemeralSecret } from './launch-config.js';

/** Where the launcher keeps the secret it generated, under DESKLINE_VAR_DIR. */
export function ephemeralSecretFile(varDir: string): string {
  return path.join(varDir, 'secrets', 'sip-ephemeral-secret');
}

/** Where the launcher keeps its Redis's password, under DESKLINE_VAR_DIR (the CLI reads it there too). */
export function redisPasswordFile(varDir: string): string {
  return path.join(varDir, 'secrets', 'redis-password');
}

/**
 * The secret in `file` (checked by `check`), or, when the file does not exist, 32 random bytes as hex
 * written there: created on the first start, readable by its owner only, and never half-written.
 */
function storedSecret(file: string, check: (secret: string, from: string) => string): string {
  try {
    return check(readFileSync(file, 'utf8').trim(), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('hex');
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return secret;
}

/**
 * SIP_EPHEMERAL_SECRET from the environment or, when unset, from var/secrets/sip-ephemeral-secret
 * (generated on the first start). Kamailio and signaling must get the same value.
 */
export function sipEphemeralSecret(env: NodeJS.ProcessEnv, varDir: string): string {
  const fromEnv = env['SIP_EPHEMERAL_SECRET'];
  if (fromEnv) return checkEphemeralSecret(fromEnv, 'SIP_EPHEMERAL_SECRET');
  return storedSecret(ephemeralSecretFile(varDir), checkEphemeralSecret);
}

/**
 * The password of the redis-server the launcher starts: REDIS_PASSWORD from the environment (as
 * under Docker Compose) or, when unset, var/secrets/redis-password (generated on the first start).
 * It goes into a URL and into Kamailio's ndb_redis spec, so it is kept to characters both take as
 * they are.
 */
export function redisPassword(env: NodeJS.ProcessEnv, varDir: string): string {
  const fromEnv = env['REDIS_PASSWORD'];
  if (fromEnv) return checkRedisPassword(fromEnv, 'REDIS_PASSWORD');
  return storedSecret(redisPasswordFile(varDir), checkRedisPassword);
}

export function checkRedisPassword(password: string, from: string): string {
  if (!/^[A-Za-z0-9._~-]{16,}$/.test(password)) {
    throw new LaunchConfigError(
      `${from} is invalid: it must be at least 16 letters, digits or ._~- ` +
        '(for example 64 hex digits: openssl rand -hex 32).',
    );
  }
  return password;
}
