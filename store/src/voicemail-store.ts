import type { Redis } from 'ioredis';
import { isVoicemailMessage, type VoicemailMessage, type VoicemailPlay } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from './keys.js';

/** stream:voicemail-audit keeps about this many plays (`XADD … MAXLEN ~`). */
export const VOICEMAIL_AUDIT_MAX_LENGTH = 100_000;

/**
 * Voicemail messages' metadata in Redis (the audio files are the caller's: sip/src/voicemail/): one
 * JSON string per message, a sorted set by createdAt for retention, and a set per number for
 * `patient forget`. The sip app saves; signaling reads, deletes and writes the audit log.
 */
export class VoicemailStore {
  constructor(private readonly redis: Redis) {}

  async save(message: VoicemailMessage): Promise<void> {
    await this.redis
      .multi()
      .set(RedisKeys.voicemail(message.id), JSON.stringify(message))
      .zadd(RedisKeys.voicemails, message.createdAt, message.id)
      .sadd(RedisKeys.patientVoicemails(message.from), message.id)
      .exec();
  }

  /** The message, or undefined when there is none (or its record is damaged). */
  async get(id: string): Promise<VoicemailMessage | undefined> {
    const json = await this.redis.get(RedisKeys.voicemail(id));
    if (json === null) return undefined;
    try {
      const value: unknown = JSON.parse(json);
      return isVoicemailMessage(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when message `id` has metadata (whole or damaged). */
  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(RedisKeys.voicemail(id))) === 1;
  }

  /** Forgets the message's metadata and its link to a task (the file is the caller's to delete first). */
  async delete(message: Pick<VoicemailMessage, 'id' | 'from'>): Promise<void> {
    await this.redis
      .multi()
      .del(RedisKeys.voicemail(message.id), RedisKeys.voicemailTask(message.id))
      .zrem(RedisKeys.voicemails, message.id)
      .srem(RedisKeys.patientVoicemails(message.from), message.id)
      .exec();
  }

  /** Ids of the messages created before `before` (epoch ms), oldest first, at most `limit`. */
  async olderThan(before: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(RedisKeys.voicemails, '-inf', `(${before}`, 'LIMIT', 0, limit);
  }

  /** Ids of the messages `number` left. */
  async ofNumber(number: string): Promise<string[]> {
    return this.redis.smembers(RedisKeys.patientVoicemails(number));
  }

  /** Writes one play to the audit log. */
  async audit(play: VoicemailPlay): Promise<void> {
    await this.redis.xadd(
      RedisStreams.voicemailAudit,
      'MAXLEN',
      '~',
      VOICEMAIL_AUDIT_MAX_LENGTH,
      '*',
      'voicemailId',
      play.voicemailId,
      'userId',
      play.userId,
      'at',
      String(play.at),
      'range',
      play.range,
    );
  }

  /** The newest plays first, at most `count`. */
  async plays(count = 200): Promise<VoicemailPlay[]> {
    const entries = await this.redis.xrevrange(RedisStreams.voicemailAudit, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => {
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
      return {
        voicemailId: map.get('voicemailId') ?? '',
        userId: map.get('userId') ?? '',
        at: Number(map.get('at') ?? 0),
        range: map.get('range') ?? '',
      };
    });
  }
}
