/**
 * A voicemail message as the sip app leaves it (sip/src/voicemail/): `<dir>/<id>.mp3`, mode 600, and
 * its metadata in Redis (VoicemailStore), for tests of signaling's side that run without a call.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { VoicemailMessage } from '@deskline/protocol';
import { VoicemailStore } from '@deskline/store';

export async function storeVoicemail(
  db: Redis,
  dir: string,
  options: { callId: string; from: string; audio?: Buffer; createdAt?: number },
): Promise<VoicemailMessage> {
  const id = randomBytes(16).toString('hex');
  const audio = options.audio ?? randomBytes(4_000);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, `${id}.mp3`), audio, { mode: 0o600 });
  const message: VoicemailMessage = {
    id,
    callId: options.callId,
    from: options.from,
    line: '100',
    durationMs: 5_000,
    createdAt: options.createdAt ?? Date.now(),
    size: audio.length,
  };
  await new VoicemailStore(db).save(message);
  return message;
}
