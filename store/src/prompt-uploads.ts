import type { Redis } from 'ioredis';
import type { PromptLanguage, PromptName } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/** Who replaced a prompt (or the hold music), and when; the file itself is in PROMPTS_DIR. */
export interface PromptUpload {
  userId: string;
  displayName: string;
  /** ISO 8601. */
  uploadedAt: string;
  durationSeconds: number;
}

/** A prompt's field: "<lang>/<name>". The hold music's is HOLD_MUSIC_ID. */
const field = (language: PromptLanguage, name: PromptName): string => `${language}/${name}`;

function parse(json: string | null | undefined): PromptUpload | undefined {
  if (!json) return undefined;
  try {
    const value = JSON.parse(json) as Partial<PromptUpload>;
    if (typeof value.userId !== 'string' || typeof value.uploadedAt !== 'string') return undefined;
    return {
      userId: value.userId,
      displayName: typeof value.displayName === 'string' ? value.displayName : '',
      uploadedAt: value.uploadedAt,
      durationSeconds: typeof value.durationSeconds === 'number' ? value.durationSeconds : 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * The metadata of the managers' uploads, one hash field each: "<lang>/<name>" for a prompt
 * (promptUploadKey), HOLD_MUSIC_ID for the hold music.
 */
export class PromptUploadStore {
  constructor(private readonly redis: Redis) {}

  async get(key: string): Promise<PromptUpload | undefined> {
    return parse(await this.redis.hget(RedisKeys.promptUploads, key));
  }

  /** Every upload, by its field. */
  async all(): Promise<Map<string, PromptUpload>> {
    const hash = await this.redis.hgetall(RedisKeys.promptUploads);
    const uploads = new Map<string, PromptUpload>();
    for (const [key, json] of Object.entries(hash)) {
      const upload = parse(json);
      if (upload) uploads.set(key, upload);
    }
    return uploads;
  }

  async set(key: string, upload: PromptUpload): Promise<void> {
    await this.redis.hset(RedisKeys.promptUploads, key, JSON.stringify(upload));
  }

  async remove(key: string): Promise<void> {
    await this.redis.hdel(RedisKeys.promptUploads, key);
  }
}

/** The key PromptUploadStore.all() files an upload under. */
export const promptUploadKey = field;
