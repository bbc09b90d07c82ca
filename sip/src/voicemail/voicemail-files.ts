import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { VOICEMAIL_FILE_EXTENSION, VOICEMAIL_ID_PATTERN } from '@deskline/protocol';
import { RECORDER_SAMPLE_RATE } from './rtp-recorder.js';

const run = promisify(execFile);

/** MP3 bitrate, kbit/s: speech at 16 kHz mono (about 180 kB a minute). */
export const VOICEMAIL_MP3_KBPS = 24;

/** A new message id: 128 random bits as hex (VOICEMAIL_ID_PATTERN). */
export function newVoicemailId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The audio files of voicemail messages in RECORDINGS_DIR: `<id>.mp3`, mode 600, owned by the
 * service user, named by a random id and never by the patient's number. A file appears under its
 * name whole (encoded aside as `.<id>.*`, then renamed): it is never served half written, and a
 * leftover `.`-file of a crash is removed at the next start (`removeLeftovers`).
 */
export class VoicemailFiles {
  constructor(private readonly dir: string) {}

  /** Where message `id`'s audio is; throws for an id of any other form (no path of the caller's choosing). */
  pathOf(id: string): string {
    if (!VOICEMAIL_ID_PATTERN.test(id)) throw new Error('not a voicemail id');
    return path.join(this.dir, `${id}${VOICEMAIL_FILE_EXTENSION}`);
  }

  /** Encodes 8 kHz 16-bit mono PCM to the message's file; resolves with its size in bytes. */
  async write(id: string, pcm: Int16Array): Promise<number> {
    const target = this.pathOf(id);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const wav = path.join(this.dir, `.${id}.wav`);
    const partial = path.join(this.dir, `.${id}.part`);
    try {
      await writeFile(wav, wavOf(pcm), { mode: 0o600 });
      // sox from Debian (libsox-fmt-mp3, LAME): 16 kHz so that the MP3 is MPEG-2, which every browser plays.
      await run('sox', ['-q', '-t', 'wav', wav, '-t', 'mp3', '-C', String(VOICEMAIL_MP3_KBPS), partial, 'rate', '16k']);
      await chmod(partial, 0o600);
      await rename(partial, target);
      return (await stat(target)).size;
    } finally {
      await rm(wav, { force: true });
      await rm(partial, { force: true });
    }
  }

  async delete(id: string): Promise<void> {
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Removes what a crash left half written (`.`-files). */
  async removeLeftovers(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((name) => name.startsWith('.')).map((name) => rm(path.join(this.dir, name), { force: true })),
    );
  }
}

/** A WAV (RIFF, PCM 16-bit mono, 8 kHz) of `pcm`. */
export function wavOf(pcm: Int16Array): Buffer {
  const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(RECORDER_SAMPLE_RATE, 24);
  header.writeUInt32LE(RECORDER_SAMPLE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
