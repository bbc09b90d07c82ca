import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ALL_PROMPT_NAMES,
  PROMPT_LANGUAGES,
  PROMPT_MAX_SECONDS,
  promptFile,
  type PromptInfo,
  type PromptLanguage,
  type PromptName,
} from '@deskline/protocol';
import { promptUploadKey, type PromptUpload, type PromptUploadStore } from '@deskline/store';
import { ClientError } from '../errors.js';

const run = promisify(execFile);

/** The speech level the built-in prompts have (RMS, dBFS), and the highest peak an upload may keep. */
const TARGET_RMS_DB = -21;
const PEAK_CEILING_DB = -3;
/** sox's longest run on a 10 MB upload (an MP3 of hours decodes in a few seconds, and is cut at the limit). */
const SOX_TIMEOUT_MS = 60_000;
/** The format every prompt has (pbx-config/media/README.md): 8 kHz mono 16-bit PCM WAV. */
const TELEPHONE_WAV = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'wav'];
/** Uploaded files: the owner (signaling, and the sip app: the same user) writes, its group (rtpengine's supplementary group under Compose) reads. */
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;

export const NOT_AUDIO_MESSAGE = 'This is not an audio file we can read. Upload a WAV, MP3 or Ogg recording.';

/** What an upload is, from its first bytes (the Content-Type and the file name are the sender's word). */
export function audioType(bytes: Buffer): 'wav' | 'mp3' | 'ogg' | undefined {
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE')
    return 'wav';
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'OggS') return 'ogg';
  if (bytes.length >= 3 && bytes.toString('latin1', 0, 3) === 'ID3') return 'mp3';
  // An MPEG audio frame's sync word: 11 bits set.
  if (bytes.length >= 2 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0) return 'mp3';
  return undefined;
}

/**
 * A PCM WAV's length in seconds from its header: the data chunk's size (no more than the file holds)
 * over the fmt chunk's byte rate. Undefined when the header is not one.
 */
export function wavSeconds(header: Buffer, fileSize: number): number | undefined {
  if (header.length < 12 || header.toString('latin1', 0, 4) !== 'RIFF') return undefined;
  let byteRate: number | undefined;
  for (let at = 12; at + 8 <= header.length;) {
    const id = header.toString('latin1', at, at + 4);
    const size = header.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 16 <= header.length) byteRate = header.readUInt32LE(at + 16);
    if (id === 'data') {
      if (!byteRate) return undefined;
      return Math.min(size, fileSize - at - 8) / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  return undefined;
}

async function fileSeconds(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(size, 4096));
    await handle.read(header, 0, header.length, 0);
    return wavSeconds(header, size);
  } finally {
    await handle.close();
  }
}

const round = (seconds: number): number => Math.round(seconds * 100) / 100;
const ms = (seconds: number): number => Math.round(seconds * 1000);

/** sox's `stats` line `name` (dB), or undefined (e.g. -inf for silence). */
function statsValue(output: string, name: string): number | undefined {
  const match = new RegExp(`^${name}\\s+(-?[0-9.]+)`, 'm').exec(output);
  return match ? Number(match[1]) : undefined;
}

/** The uploader, as the list shows them. */
export interface Uploader {
  id: string;
  displayName: string;
}

/**
 * The call plan's prompts as managers see them (docs/call-plan.md, "Prompts"): the built-in ones in
 * `<mediaDir>/prompts`, and the managers' uploads in `promptsDir` (converted here with sox, written
 * to a temporary file and renamed over the previous one, so that a call never plays half a file and a
 * failed upload leaves the previous one). Who uploaded what is in Redis (PromptUploadStore).
 */
export class PromptLibrary {
  readonly #builtInSeconds = new Map<string, number>();

  constructor(
    private readonly uploads: PromptUploadStore,
    private readonly mediaDir: string,
    private readonly promptsDir: string,
  ) {}

  builtInFile(language: PromptLanguage, name: PromptName): string {
    return path.join(this.mediaDir, 'prompts', promptFile(language, name));
  }

  uploadedFile(language: PromptLanguage, name: PromptName): string {
    return path.join(this.promptsDir, promptFile(language, name));
  }

  async #uploaded(language: PromptLanguage, name: PromptName): Promise<boolean> {
    return (await stat(this.uploadedFile(language, name)).catch(() => undefined))?.isFile() ?? false;
  }

  /** The file a call plays now: the upload, else the built-in one. */
  async playingFile(language: PromptLanguage, name: PromptName): Promise<string> {
    return (await this.#uploaded(language, name))
      ? this.uploadedFile(language, name)
      : this.builtInFile(language, name);
  }

  async #builtInInfo(language: PromptLanguage, name: PromptName): Promise<PromptInfo> {
    const key = promptUploadKey(language, name);
    let seconds = this.#builtInSeconds.get(key);
    if (seconds === undefined) {
      seconds = round((await fileSeconds(this.builtInFile(language, name))) ?? 0);
      this.#builtInSeconds.set(key, seconds);
    }
    return { language, name, source: 'built-in', durationMs: ms(seconds) };
  }

  async #info(language: PromptLanguage, name: PromptName, upload: PromptUpload | undefined): Promise<PromptInfo> {
    if (!(await this.#uploaded(language, name))) return this.#builtInInfo(language, name);
    const seconds = upload?.durationSeconds ?? (await fileSeconds(this.uploadedFile(language, name))) ?? 0;
    return {
      language,
      name,
      source: 'uploaded',
      durationMs: ms(seconds),
      // A file put there by hand has no uploader.
      ...(upload && {
        uploadedBy: { userId: upload.userId, displayName: upload.displayName },
        uploadedAt: upload.uploadedAt,
      }),
    };
  }

  async info(language: PromptLanguage, name: PromptName): Promise<PromptInfo> {
    return this.#info(language, name, await this.uploads.get(language, name));
  }

  /** Every prompt in every language, language by language in ALL_PROMPT_NAMES order. */
  async list(): Promise<PromptInfo[]> {
    const uploads = await this.uploads.all();
    return Promise.all(
      PROMPT_LANGUAGES.flatMap((language) =>
        ALL_PROMPT_NAMES.map((name) => this.#info(language, name, uploads.get(promptUploadKey(language, name)))),
      ),
    );
  }

  /**
   * Converts `bytes` (WAV, MP3 or Ogg) to the prompt `name` in `language`: 8 kHz mono 16-bit WAV at
   * the built-in prompts' loudness. ClientError 400 for what is not audio or lasts too long.
   */
  async upload(language: PromptLanguage, name: PromptName, bytes: Buffer, by: Uploader): Promise<PromptInfo> {
    if (bytes.length === 0) throw new ClientError(400, 'Choose a recording to upload.');
    const type = audioType(bytes);
    if (!type) throw new ClientError(400, NOT_AUDIO_MESSAGE);

    const dir = path.dirname(this.uploadedFile(language, name));
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const temp = path.join(dir, `.${name}.${randomUUID()}`);
    const [input, converted, levelled] = [`${temp}.${type}`, `${temp}.converted.wav`, `${temp}.wav`];
    try {
      await writeFile(input, bytes, { mode: 0o600 });
      // Cut a little past the limit: a 10 MB MP3 may hold hours, which need not be decoded to be refused.
      try {
        await run(
          'sox',
          ['-V1', '-t', type, input, ...TELEPHONE_WAV, converted, 'trim', '0', String(PROMPT_MAX_SECONDS + 1)],
          {
            timeout: SOX_TIMEOUT_MS,
          },
        );
      } catch {
        throw new ClientError(400, NOT_AUDIO_MESSAGE);
      }
      const seconds = await fileSeconds(converted);
      if (!seconds) throw new ClientError(400, NOT_AUDIO_MESSAGE);
      if (seconds > PROMPT_MAX_SECONDS) {
        const full = await run('soxi', ['-D', input], { timeout: SOX_TIMEOUT_MS }).then(
          ({ stdout }) => Number(stdout.trim()),
          () => NaN,
        );
        const length =
          Number.isFinite(full) && full > PROMPT_MAX_SECONDS ? `${Math.round(full)} s` : `over ${PROMPT_MAX_SECONDS} s`;
        throw new ClientError(400, `The recording lasts ${length}; a prompt may last at most ${PROMPT_MAX_SECONDS} s.`);
      }
      // Loudness: the built-in prompts' speech level, without letting peaks above the ceiling.
      const { stderr } = await run('sox', [converted, '-n', 'stats'], { timeout: SOX_TIMEOUT_MS });
      const rms = statsValue(stderr, 'RMS lev dB');
      const peak = statsValue(stderr, 'Pk lev dB');
      const gain = rms === undefined || peak === undefined ? 0 : Math.min(TARGET_RMS_DB - rms, PEAK_CEILING_DB - peak);
      await run('sox', ['-V1', converted, ...TELEPHONE_WAV, levelled, 'gain', gain.toFixed(2)], {
        timeout: SOX_TIMEOUT_MS,
      });
      await chmod(levelled, FILE_MODE);
      await rename(levelled, this.uploadedFile(language, name));
      const upload: PromptUpload = {
        userId: by.id,
        displayName: by.displayName,
        uploadedAt: new Date().toISOString(),
        durationSeconds: round(seconds),
      };
      await this.uploads.set(language, name, upload);
      return this.#info(language, name, upload);
    } finally {
      await Promise.all([input, converted, levelled].map((file) => rm(file, { force: true })));
    }
  }

  /** Back to the built-in prompt. */
  async reset(language: PromptLanguage, name: PromptName): Promise<PromptInfo> {
    await unlink(this.uploadedFile(language, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await this.uploads.remove(language, name);
    return this.#builtInInfo(language, name);
  }

  /** The bytes of the file a call plays now. */
  async audio(language: PromptLanguage, name: PromptName): Promise<Buffer> {
    return readFile(await this.playingFile(language, name));
  }
}
