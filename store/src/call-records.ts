import type { Redis } from 'ioredis';
import type { CallOutcome, CallRecord } from '@deskline/protocol';
import { RedisKeys } from './keys.js';

/**
 * The outcomes call records were written with before issue 16 (docs/call-board.md, "Outcomes"): a
 * hang-up before the queue, and one after it. The first is today's Abandoned, the second Unanswered.
 */
const OUTCOMES_BEFORE_ISSUE_16: Readonly<Record<string, CallOutcome>> = {
  'abandoned-intro': 'abandoned',
  'abandoned-waiting': 'unanswered',
};

/**
 * A call record as JSON (`call-record:<id>`, written by the sip app), its outcome in today's words even
 * when an older sip app wrote it (one may still run during a rolling upgrade).
 */
export function parseCallRecord(json: string): CallRecord {
  const record = JSON.parse(json) as CallRecord;
  const renamed = OUTCOMES_BEFORE_ISSUE_16[record.outcome];
  return renamed === undefined ? record : { ...record, outcome: renamed };
}

/** How many of the records in `call-records` were rewritten. */
export interface CallRecordMigration {
  rewritten: number;
}

const MIGRATION_BATCH = 500;

// Rewrites a record only if it is still as read (another writer, or a second signaling migrating at
// the same time, wins), keeping its expiry (HISTORY_RETENTION_DAYS from when the call ended).
const REWRITE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`;

/**
 * Rewrites the call records of an older sip app (`abandoned-intro`, `abandoned-waiting`) with today's
 * outcomes, at signaling's start. Idempotent: a record already in today's words is left alone; a
 * record that expired meanwhile is skipped.
 */
export async function migrateCallRecordOutcomes(redis: Redis): Promise<CallRecordMigration> {
  let rewritten = 0;
  const total = await redis.zcard(RedisKeys.callRecords);
  for (let start = 0; start < total; start += MIGRATION_BATCH) {
    const ids = await redis.zrange(RedisKeys.callRecords, start, start + MIGRATION_BATCH - 1);
    if (ids.length === 0) break;
    const values = await redis.mget(ids.map((id) => RedisKeys.callRecord(id)));
    for (const [index, raw] of values.entries()) {
      const id = ids[index];
      if (raw === null || id === undefined) continue;
      let before: CallRecord;
      try {
        before = JSON.parse(raw) as CallRecord;
      } catch {
        continue;
      }
      if (OUTCOMES_BEFORE_ISSUE_16[before.outcome] === undefined) continue;
      const after = JSON.stringify(parseCallRecord(raw));
      rewritten += Number(await redis.eval(REWRITE_IF_UNCHANGED, 1, RedisKeys.callRecord(id), raw, after));
    }
  }
  return { rewritten };
}
