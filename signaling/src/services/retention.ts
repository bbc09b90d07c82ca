import type { Redis } from 'ioredis';
import { RedisKeys, RedisStreams } from '@deskline/store';
import type { TaskStore } from './task-store.js';
import type { VoicemailService } from './voicemail-service.js';

const DAY_MS = 24 * 60 * 60_000;
const SCAN_COUNT = 500;

/** What one sweep removed, for the log. */
export interface SweepReport {
  streamEntries: number;
  tasks: number;
  indexEntries: number;
  pointers: number;
  /** Voicemail messages (file and metadata), when the sweep has the voicemail service. */
  voicemails?: number;
  /** Message files without metadata (a crash of the sip app between the two), by their age. */
  voicemailOrphanFiles?: number;
}

/**
 * Everything that holds a patient's number lasts at most HISTORY_RETENTION_DAYS (docs/security.md,
 * "Patients' data"). Most of it expires by itself: call records, callbacks and closed tasks from
 * their start or close, and an open task (an abandoned call never called back among them) and its
 * patient-task:<number> pointer `retentionDays` after the task last changed (TaskStore). This sweep
 * does what expiry cannot:
 * - trims the event streams (their entries carry the number in CallView and CallbackView JSON) to
 *   the entries younger than the retention, by id (XTRIM MINID: an entry's id is its time);
 * - drops the ids of expired tasks, records and callbacks from their indexes;
 * - gives a TTL to tasks and pointers written before tasks expired (an older Deskline's), or deletes
 *   them when they are older than the retention already;
 * - deletes voicemail messages by their date, after their task has let go of them (a task outlives
 *   its message when it changed later: it then says the message was deleted, and offers no player),
 *   and message files that have no metadata.
 */
export class RetentionSweep {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis,
    retentionDays: number,
    /** Voicemail messages go with the rest: their files and metadata, by createdAt. */
    private readonly voicemail?: VoicemailService,
    /** The tasks that show those messages. */
    private readonly tasks?: TaskStore,
  ) {
    this.retentionMs = retentionDays * DAY_MS;
  }

  async run(now = Date.now()): Promise<SweepReport> {
    const cutoff = now - this.retentionMs;
    const report: SweepReport = { streamEntries: 0, tasks: 0, indexEntries: 0, pointers: 0 };
    if (this.voicemail) {
      const tasks = this.tasks;
      // The task first: a crash after it leaves a message that the next run deletes, never a task
      // whose player points at nothing.
      report.voicemails = await this.voicemail.deleteOlderThan(
        cutoff,
        tasks && ((id) => tasks.voicemailRemoved(id, { reason: 'retention', at: now })),
      );
      report.voicemailOrphanFiles = await this.voicemail.deleteOrphanFiles(cutoff);
    }
    for (const stream of Object.values(RedisStreams)) {
      report.streamEntries += Number(await this.redis.xtrim(stream, 'MINID', `${cutoff}-0`));
    }
    for (const index of [RedisKeys.closedTasks, RedisKeys.callRecords, RedisKeys.callbacks, RedisKeys.abandonedCalls]) {
      report.indexEntries += await this.redis.zremrangebyscore(index, '-inf', `(${cutoff}`);
    }
    const retentionSeconds = Math.ceil(this.retentionMs / 1000);
    for (const id of await this.redis.smembers(RedisKeys.openTasks)) {
      const key = RedisKeys.task(id);
      const [raw, ttl] = await Promise.all([this.redis.get(key), this.redis.ttl(key)]);
      if (raw === null) {
        report.indexEntries += await this.redis.srem(RedisKeys.openTasks, id);
        continue;
      }
      if (ttl >= 0) continue;
      const updatedAt = Number((JSON.parse(raw) as { updatedAt?: unknown }).updatedAt) || 0;
      const left = Math.ceil((updatedAt + this.retentionMs - now) / 1000);
      if (left > 0) {
        await this.redis.expire(key, Math.min(left, retentionSeconds));
      } else {
        await this.redis.multi().del(key).srem(RedisKeys.openTasks, id).exec();
        report.tasks++;
      }
    }
    // A pointer lives as long as the open task it names; one without a TTL (or without its task) goes by it.
    for await (const keys of this.redis.scanStream({
      match: RedisKeys.patientTask('*'),
      count: SCAN_COUNT,
    }) as AsyncIterable<string[]>) {
      for (const pointer of keys) {
        if ((await this.redis.ttl(pointer)) !== -1) continue;
        const taskId = await this.redis.get(pointer);
        const taskTtl = taskId ? await this.redis.ttl(RedisKeys.task(taskId)) : -2;
        if (taskTtl > 0) {
          await this.redis.expire(pointer, taskTtl);
        } else {
          await this.redis.del(pointer);
          report.pointers++;
        }
      }
    }
    return report;
  }
}
