import type { Redis } from 'ioredis';
import type { PromptLanguage, PromptName } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/** Who replaced a prompt, and when; the file itself is `<PROMPTS_DIR>/<lang>/<name>.wav`. */
export interface PromptUpload {
  userId: string;
  displayName: string;
  /** ISO 8601. */
  uploadedAt: string;
  durationSeconds: number;
}

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

/** The metadata of the managers' uploaded prompts, one hash field per language and name. */
export class PromptUploadStore {
  constructor(private readonly redis: Redis) {}

  async get(language: PromptLanguage, name: PromptName): Promise<PromptUpload | undefined> {
    return parse(await this.redis.hget(RedisKeys.promptUploads, field(language, name)));
  }

  /** Every upload, by "<lang>/<name>". */
  async all(): Promise<Map<string, PromptUpload>> {
    const hash = await this.redis.hgetall(RedisKeys.promptUploads);
    const uploads = new Map<string, PromptUpload>();
    for (const [key, json] of Object.entries(hash)) {
      const upload = parse(json);
      if (upload) uploads.set(key, upload);
    }
    return uploads;
  }

  async set(language: PromptLanguage, name: PromptName, upload: PromptUpload): Promise<void> {
    await this.redis.hset(RedisKeys.promptUploads, field(language, name), JSON.stringify(upload));
  }

  async remove(language: PromptLanguage, name: PromptName): Promise<void> {
    await this.redis.hdel(RedisKeys.promptUploads, field(language, name));
  }
}

/** The key PromptUploadStore.all() files an upload under. */
export const promptUploadKey = field;
