import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkEphemeralSecret } from './launch-config.js';

/** Where the launcher keeps the secret it generated, under DESKLINE_VAR_DIR. */
export function ephemeralSecretFile(varDir: string): string {
  return path.join(varDir, 'secrets', 'sip-ephemeral-secret');
}

/**
 * SIP_EPHEMERAL_SECRET from the environment or, when unset, from var/secrets/sip-ephemeral-secret:
 * 32 random bytes as hex, created on the first start, readable by its owner only, and never
 * half-written. Kamailio and signaling must get the same value.
 */
export function sipEphemeralSecret(env: NodeJS.ProcessEnv, varDir: string): string {
  const fromEnv = env['SIP_EPHEMERAL_SECRET'];
  if (fromEnv) return checkEphemeralSecret(fromEnv, 'SIP_EPHEMERAL_SECRET');
  const file = ephemeralSecretFile(varDir);
  try {
    return checkEphemeralSecret(readFileSync(file, 'utf8').trim(), file);
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
