import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { VOICEMAIL_FILE_EXTENSION, VOICEMAIL_ID_PATTERN, type VoicemailMessage } from '@deskline/protocol';
import { VoicemailStore } from '@deskline/store';

/** Called with a message's id just before the message is deleted (RetentionSweep: its task lets go of it). */
export type BeforeVoicemailDelete = (id: string) => Promise<unknown>;

/**
 * Voicemail messages as signaling sees them (docs/call-plan.md, "Voicemail"): the metadata in Redis
 * (VoicemailStore, written by the sip app) and the audio in RECORDINGS_DIR, `<id>.mp3`. A message is
 * served only by id, through `openAudio`, and deleted whole: file first, then metadata. That order
 * leaves nothing that no later run finds: a crash after the file leaves the metadata, which the next
 * run (by date, or by number) deletes; a file without metadata (the sip app's crash between its
 * file and its save) is found by its age in the folder (`deleteOrphanFiles`).
 */
export class VoicemailService {
  readonly store: VoicemailStore;

  constructor(
    redis: Redis,
    private readonly dir: string,
  ) {
    this.store = new VoicemailStore(redis);
  }

  /**
   * The message with its audio file open for reading; the message without a file when its metadata
   * is there but the file is not (lost on disk); undefined when there is no such message.
   */
  async openAudio(
    id: string,
  ): Promise<
    | { message: VoicemailMessage; file: FileHandle; size: number }
    | { message: VoicemailMessage; file: undefined }
    | undefined
  > {
    if (!VOICEMAIL_ID_PATTERN.test(id)) return undefined;
    const message = await this.store.get(id);
    if (!message) return undefined;
    const file = await open(this.fileOf(id), 'r').catch(() => undefined);
    if (!file) return { message, file };
    const { size } = await file.stat();
    return { message, file, size };
  }

  /** Deletes the message's file and metadata; false when there was no such message. */
  async delete(id: string): Promise<boolean> {
    if (!VOICEMAIL_ID_PATTERN.test(id)) return false;
    const message = await this.store.get(id);
    await this.unlink(id);
    if (message) await this.store.delete(message);
    return message !== undefined;
  }

  /**
   * Deletes every message created before `before` (epoch ms): `beforeDelete` first, then the file,
   * then the metadata. Resolves with how many.
   */
  async deleteOlderThan(before: number, beforeDelete?: BeforeVoicemailDelete): Promise<number> {
    let deleted = 0;
    for (;;) {
      const ids = await this.store.olderThan(before);
      if (ids.length === 0) return deleted;
      for (const id of ids) {
        const message = await this.store.get(id);
        await beforeDelete?.(id);
        await this.unlink(id);
        await this.store.delete(message ?? { id, from: '' });
        deleted++;
      }
    }
  }

  /**
   * Deletes the message files last written before `before` (epoch ms) that have no metadata: nothing
   * serves them and `patient forget` cannot find them. Resolves with how many.
   */
  async deleteOrphanFiles(before: number): Promise<number> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    let deleted = 0;
    for (const name of names) {
      // Only `<id>.mp3`: the sip app's `.`-files being written, and anything else there, are not messages.
      const id = path.basename(name, VOICEMAIL_FILE_EXTENSION);
      if (!name.endsWith(VOICEMAIL_FILE_EXTENSION) || !VOICEMAIL_ID_PATTERN.test(id)) continue;
      const written = await stat(this.fileOf(id)).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (written === undefined || written >= before || (await this.store.has(id))) continue;
      await this.unlink(id);
      deleted++;
    }
    return deleted;
  }

  /** Deletes every message left from one of these spellings of a number; resolves with their ids. */
  async forgetNumber(spellings: readonly string[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const number of spellings) for (const id of await this.store.ofNumber(number)) ids.add(id);
    for (const id of ids) await this.delete(id);
    return [...ids];
  }

  private async unlink(id: string): Promise<void> {
    await unlink(this.fileOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}${VOICEMAIL_FILE_EXTENSION}`);
  }
}
