import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { VOICEMAIL_FILE_EXTENSION, VOICEMAIL_ID_PATTERN, type VoicemailMessage } from '@deskline/protocol';
import { VoicemailStore } from '@deskline/store';

/**
 * Voicemail messages as signaling sees them (docs/call-plan.md, "Voicemail"): the metadata in Redis
 * (VoicemailStore, written by the sip app) and the audio in RECORDINGS_DIR, `<id>.mp3`. A message is
 * served only by id, through `openAudio`, and deleted whole: file first, then metadata.
 */
export class VoicemailService {
  readonly store: VoicemailStore;

  constructor(
    redis: Redis,
    private readonly dir: string,
  ) {
    this.store = new VoicemailStore(redis);
  }

  /** The message with its audio file open for reading, or undefined (no such id, metadata or file). */
  async openAudio(id: string): Promise<{ message: VoicemailMessage; file: FileHandle; size: number } | undefined> {
    if (!VOICEMAIL_ID_PATTERN.test(id)) return undefined;
    const message = await this.store.get(id);
    if (!message) return undefined;
    const file = await open(this.fileOf(id), 'r').catch(() => undefined);
    if (!file) return undefined;
    const { size } = await file.stat();
    return { message, file, size };
  }

  /** Deletes the message's file and metadata; false when there was no such message. */
  async delete(id: string): Promise<boolean> {
    if (!VOICEMAIL_ID_PATTERN.test(id)) return false;
    const message = await this.store.get(id);
    await unlink(this.fileOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (message) await this.store.delete(message);
    return message !== undefined;
  }

  /** Deletes every message created before `before` (epoch ms); resolves with how many. */
  async deleteOlderThan(before: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const ids = await this.store.olderThan(before);
      if (ids.length === 0) return deleted;
      for (const id of ids) {
        const message = await this.store.get(id);
        await unlink(this.fileOf(id)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await this.store.delete(message ?? { id, from: '' });
        deleted++;
      }
    }
  }

  /** Deletes every message left from one of these spellings of a number; resolves with their ids. */
  async forgetNumber(spellings: readonly string[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const number of spellings) for (const id of await this.store.ofNumber(number)) ids.add(id);
    for (const id of ids) await this.delete(id);
    return [...ids];
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}${VOICEMAIL_FILE_EXTENSION}`);
  }
}
