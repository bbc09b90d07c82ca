import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, chmod, constants, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ALL_PROMPT_NAMES,
  HOLD_MUSIC_ID,
  HOLD_MUSIC_MAX_SECONDS,
  PROMPT_LANGUAGES,
  PROMPT_MAX_SECONDS,
  promptFile,
  type HoldMusicInfo,
  type PromptInfo,
  type PromptList,
  type PromptLanguage,
  type PromptName,
} from '@deskline/protocol';
import { promptUploadKey, type PromptUpload, type PromptUploadStore } from '@deskline/store';
import { ClientError } from '../errors.js';

const run = promisify(execFile);

/** The speech level the built-in prompts have (RMS, dBFS), and the highest peak an upload may keep. */
const SPEECH_RMS_DB = -21;
const SPEECH_PEAK_DB = -3;
/** Music sits under speech, as the built-in loop does (RMS -20 dB, peaks at -9 dB). */
const MUSIC_RMS_DB = -22;
const MUSIC_PEAK_DB = -9;
/** sox's longest run on a 10 MB upload (an MP3 of hours decodes in a few seconds, and is cut at the limit). */
const SOX_TIMEOUT_MS = 60_000;
/** The format every prompt has (pbx-config/media/README.md): 8 kHz mono 16-bit PCM WAV. */
const TELEPHONE_WAV = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'wav'];
/**
 * What rtpengine is given beside each WAV (the sip app's playableFile): the same audio as G.711 μ-law
 * in a Sun audio file, which rtpengine sends evenly rather than in bursts (scripts/make-media.sh).
 */
const TELEPHONE_AU = ['-e', 'u-law', '-t', 'au'];
/** Uploaded files: the owner (signaling, and the sip app: the same user) writes, its group (rtpengine's supplementary group under Compose) reads. */
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;

export const NOT_AUDIO_MESSAGE = 'This is not an audio file we can read. Upload a WAV, MP3 or Ogg recording.';

/**
 * What a recording that sox cannot read is, from its first bytes, so that the manager hears what to
 * do: Ogg Opus (WhatsApp's voice notes, many phones' recorders) and MP4 audio (M4A, iPhone's Voice
 * Memos) are common, and Debian's sox reads neither.
 */
export function unsupportedAudio(bytes: Buffer): string | undefined {
  if (bytes.toString('latin1', 0, 4) === 'OggS' && bytes.subarray(0, 200).includes('OpusHead')) return 'Ogg Opus';
  if (bytes.toString('latin1', 4, 8) === 'ftyp') return 'MP4 audio (M4A)';
  return undefined;
}

/** What an upload is, from its first bytes (the Content-Type and the file name are the sender's word). */
export function audioType(bytes: Buffer): 'wav' | 'mp3' | 'ogg' | 'flac' | undefined {
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE')
    return 'wav';
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'OggS') return 'ogg';
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'fLaC') return 'flac';
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

/** One file a manager may replace: a prompt in a language, or the hold music. */
interface Slot {
  /** The PromptUploadStore field. */
  key: string;
  builtIn: string;
  /** The upload's WAV (the preview's, and the sign that there is an upload)… */
  uploaded: string;
  /** …and the `.au` beside it, which rtpengine plays. */
  uploadedAu: string;
  maxSeconds: number;
  /** "a prompt" or "the hold music", for the messages. */
  what: string;
  /** The loudness an upload is brought to: speech like the built-in prompts, music softer (as the built-in loop). */
  targetRmsDb: number;
  peakCeilingDb: number;
}

function uploadedFiles(wav: string): Pick<Slot, 'uploaded' | 'uploadedAu'> {
  return { uploaded: wav, uploadedAu: `${wav.slice(0, -'.wav'.length)}.au` };
}

/** How long a file plays and who put it there, as the list shows it. */
type Recording = Pick<PromptInfo, 'source' | 'durationMs' | 'uploadedBy' | 'uploadedAt'>;

/**
 * The call plan's prompts and the hold music as managers see them (docs/call-plan.md, "Prompts"):
 * the built-in ones in `<mediaDir>` (prompts/<lang>/<name>.wav, hold-music.wav), and the managers'
 * uploads in `promptsDir` (converted here with sox to a WAV for the preview and a `.au` beside it for
 * rtpengine, each written to a temporary file and renamed over the previous one, so that a call never
 * plays half a file and a failed upload leaves the previous one).
 * Who uploaded what is in Redis (PromptUploadStore).
 */
export class PromptLibrary {
  readonly #builtInSeconds = new Map<string, number>();

  constructor(
    private readonly uploads: PromptUploadStore,
    private readonly mediaDir: string,
    private readonly promptsDir: string,
  ) {}

  /**
   * Why uploads would fail, or undefined: PROMPTS_DIR (or, before the first upload creates it, the
   * nearest folder above it) must be writable. For the start-up log, so that clinic IT hears of it
   * before a manager does.
   */
  async uploadProblem(): Promise<string | undefined> {
    for (let dir = this.promptsDir; ; dir = path.dirname(dir)) {
      try {
        await access(dir, constants.W_OK);
        return undefined;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || path.dirname(dir) === dir) return `${dir} is not writable (${code})`;
      }
    }
  }

  /**
   * Uploads made before a `.au` was written beside each (an older Deskline) get theirs, so that
   * rtpengine plays them evenly too: every uploaded WAV without a `.au` at least as new as itself.
   * For the start-up: returns how many were written; a file sox cannot read is logged by the caller
   * and left as it is (the sip app then plays its WAV, as before).
   */
  async addMissingAu(): Promise<{ written: number; failed: string[] }> {
    const slots = [
      ...PROMPT_LANGUAGES.flatMap((language) => ALL_PROMPT_NAMES.map((name) => this.#prompt(language, name))),
      this.#holdMusic,
    ];
    let written = 0;
    const failed: string[] = [];
    for (const slot of slots) {
      const wav = await stat(slot.uploaded).catch(() => undefined);
      if (!wav?.isFile()) continue;
      const au = await stat(slot.uploadedAu).catch(() => undefined);
      if (au && au.mtimeMs >= wav.mtimeMs) continue;
      const temp = path.join(path.dirname(slot.uploaded), `.${path.basename(slot.uploadedAu)}.${randomUUID()}.au`);
      try {
        await run('sox', ['-V1', slot.uploaded, ...TELEPHONE_AU, temp], { timeout: SOX_TIMEOUT_MS });
        await chmod(temp, FILE_MODE);
        await rename(temp, slot.uploadedAu);
        written += 1;
      } catch {
        failed.push(slot.uploaded);
      } finally {
        await rm(temp, { force: true });
      }
    }
    return { written, failed };
  }

  #prompt(language: PromptLanguage, name: PromptName): Slot {
    return {
      key: promptUploadKey(language, name),
      builtIn: path.join(this.mediaDir, 'prompts', promptFile(language, name)),
      ...uploadedFiles(path.join(this.promptsDir, promptFile(language, name))),
      maxSeconds: PROMPT_MAX_SECONDS,
      what: 'a prompt',
      targetRmsDb: SPEECH_RMS_DB,
      peakCeilingDb: SPEECH_PEAK_DB,
    };
  }

  get #holdMusic(): Slot {
    return {
      key: HOLD_MUSIC_ID,
      builtIn: path.join(this.mediaDir, 'hold-music.wav'),
      ...uploadedFiles(path.join(this.promptsDir, `${HOLD_MUSIC_ID}.wav`)),
      maxSeconds: HOLD_MUSIC_MAX_SECONDS,
      what: 'the hold music',
      targetRmsDb: MUSIC_RMS_DB,
      peakCeilingDb: MUSIC_PEAK_DB,
    };
  }

  async #isUploaded(slot: Slot): Promise<boolean> {
    return (await stat(slot.uploaded).catch(() => undefined))?.isFile() ?? false;
  }

  async #builtIn(slot: Slot): Promise<Recording> {
    let seconds = this.#builtInSeconds.get(slot.key);
    if (seconds === undefined) {
      seconds = (await fileSeconds(slot.builtIn)) ?? 0;
      this.#builtInSeconds.set(slot.key, seconds);
    }
    return { source: 'built-in', durationMs: ms(seconds) };
  }

  async #recording(slot: Slot, upload: PromptUpload | undefined): Promise<Recording> {
    if (!(await this.#isUploaded(slot))) return this.#builtIn(slot);
    const seconds = upload?.durationSeconds ?? (await fileSeconds(slot.uploaded)) ?? 0;
    return {
      source: 'uploaded',
      durationMs: ms(seconds),
      // A file put there by hand has no uploader.
      ...(upload && {
        uploadedBy: { userId: upload.userId, displayName: upload.displayName },
        uploadedAt: upload.uploadedAt,
      }),
    };
  }

  /** Every prompt in every language, language by language in ALL_PROMPT_NAMES order, and the hold music. */
  async list(): Promise<PromptList> {
    const uploads = await this.uploads.all();
    const prompts = await Promise.all(
      PROMPT_LANGUAGES.flatMap((language) =>
        ALL_PROMPT_NAMES.map(async (name): Promise<PromptInfo> => {
          const slot = this.#prompt(language, name);
          return { language, name, ...(await this.#recording(slot, uploads.get(slot.key))) };
        }),
      ),
    );
    return { prompts, holdMusic: await this.#recording(this.#holdMusic, uploads.get(HOLD_MUSIC_ID)) };
  }

  /**
   * Converts `bytes` (WAV, MP3 or Ogg) to the prompt `name` in `language`: 8 kHz mono 16-bit WAV at
   * the built-in prompts' loudness. ClientError 400 for what is not audio or lasts too long.
   */
  async upload(language: PromptLanguage, name: PromptName, bytes: Buffer, by: Uploader): Promise<PromptInfo> {
    return { language, name, ...(await this.#upload(this.#prompt(language, name), bytes, by)) };
  }

  /** The same for the hold music (up to HOLD_MUSIC_MAX_SECONDS, softer than speech). */
  async uploadHoldMusic(bytes: Buffer, by: Uploader): Promise<HoldMusicInfo> {
    return this.#upload(this.#holdMusic, bytes, by);
  }

  async #upload(slot: Slot, bytes: Buffer, by: Uploader): Promise<Recording> {
    if (bytes.length === 0) throw new ClientError(400, 'Choose a recording to upload.');
    const unsupported = unsupportedAudio(bytes);
    if (unsupported) {
      throw new ClientError(
        400,
        `This recording is ${unsupported}, which Deskline cannot convert. Save it as MP3 or WAV.`,
      );
    }
    const type = audioType(bytes);
    if (!type) throw new ClientError(400, NOT_AUDIO_MESSAGE);

    const dir = path.dirname(slot.uploaded);
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const temp = path.join(dir, `.${path.basename(slot.uploaded, '.wav')}.${randomUUID()}`);
    const [input, converted, levelled, levelledAu] = [
      `${temp}.${type}`,
      `${temp}.converted.wav`,
      `${temp}.wav`,
      `${temp}.au`,
    ];
    try {
      await writeFile(input, bytes, { mode: 0o600 });
      // Cut a little past the limit: a 10 MB MP3 may hold hours, which need not be decoded to be refused.
      const cut = String(slot.maxSeconds + 1);
      try {
        await run('sox', ['-V1', '-t', type, input, ...TELEPHONE_WAV, converted, 'trim', '0', cut], {
          timeout: SOX_TIMEOUT_MS,
        });
      } catch {
        throw new ClientError(400, NOT_AUDIO_MESSAGE);
      }
      const seconds = await fileSeconds(converted);
      if (!seconds) throw new ClientError(400, NOT_AUDIO_MESSAGE);
      if (seconds > slot.maxSeconds) {
        const full = await run('soxi', ['-D', input], { timeout: SOX_TIMEOUT_MS }).then(
          ({ stdout }) => Number(stdout.trim()),
          () => NaN,
        );
        const length =
          Number.isFinite(full) && full > slot.maxSeconds ? `${Math.round(full)} s` : `over ${slot.maxSeconds} s`;
        throw new ClientError(
          400,
          `The recording lasts ${length}; ${slot.what} may last at most ${slot.maxSeconds} s.`,
        );
      }
      // Loudness: the level of the built-in ones, without letting peaks above the ceiling.
      const { stderr } = await run('sox', [converted, '-n', 'stats'], { timeout: SOX_TIMEOUT_MS });
      const rms = statsValue(stderr, 'RMS lev dB');
      const peak = statsValue(stderr, 'Pk lev dB');
      const gain =
        rms === undefined || peak === undefined ? 0 : Math.min(slot.targetRmsDb - rms, slot.peakCeilingDb - peak);
      await run('sox', ['-V1', converted, ...TELEPHONE_WAV, levelled, 'gain', gain.toFixed(2)], {
        timeout: SOX_TIMEOUT_MS,
      });
      // Made after the WAV, so that it is not older (playableFile plays a WAV newer than its .au).
      await run('sox', ['-V1', levelled, ...TELEPHONE_AU, levelledAu], { timeout: SOX_TIMEOUT_MS });
      await Promise.all([chmod(levelled, FILE_MODE), chmod(levelledAu, FILE_MODE)]);
      // The .au first: once the WAV is there (what makes it an upload), the .au beside it is the new one.
      await rename(levelledAu, slot.uploadedAu);
      await rename(levelled, slot.uploaded);
      const upload: PromptUpload = {
        userId: by.id,
        displayName: by.displayName,
        uploadedAt: new Date().toISOString(),
        durationSeconds: Math.round(seconds * 1000) / 1000,
      };
      await this.uploads.set(slot.key, upload);
      return this.#recording(slot, upload);
    } finally {
      await Promise.all([input, converted, levelled, levelledAu].map((file) => rm(file, { force: true })));
    }
  }

  async #reset(slot: Slot): Promise<Recording> {
    // The WAV first: without it the sip app plays the built-in file, whatever .au is left.
    for (const file of [slot.uploaded, slot.uploadedAu]) {
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await this.uploads.remove(slot.key);
    return this.#builtIn(slot);
  }

  /** Back to the built-in prompt. */
  async reset(language: PromptLanguage, name: PromptName): Promise<PromptInfo> {
    return { language, name, ...(await this.#reset(this.#prompt(language, name))) };
  }

  /** Back to the built-in hold music. */
  resetHoldMusic(): Promise<HoldMusicInfo> {
    return this.#reset(this.#holdMusic);
  }

  async #audio(slot: Slot): Promise<Buffer> {
    const file = (await this.#isUploaded(slot)) ? slot.uploaded : slot.builtIn;
    try {
      return await readFile(file);
    } catch (err) {
      // A MEDIA_DIR of the clinic's own without the prompts/ folder (pbx-config/media/README.md).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ClientError(
          404,
          `The built-in file of ${slot.what} is missing from the server's media folder: upload a recording, or ask clinic IT.`,
        );
      throw err;
    }
  }

  /** The bytes of the file a call plays now: the upload, else the built-in one. */
  audio(language: PromptLanguage, name: PromptName): Promise<Buffer> {
    return this.#audio(this.#prompt(language, name));
  }

  holdMusicAudio(): Promise<Buffer> {
    return this.#audio(this.#holdMusic);
  }
}
