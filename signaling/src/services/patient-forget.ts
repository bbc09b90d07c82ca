import type { Redis } from 'ioredis';
import { RedisKeys } from '@deskline/store';
import type { ContactService } from './contact-service.js';
import type { VoicemailService } from './voicemail-service.js';

const SCAN_COUNT = 500;

/**
 * Staff's and the installation's own keys: they never hold a patient's number, and a short number
 * could look like something in them (a desk phone's SIP user 201, a timestamp), so they are not
 * touched. Everything else is searched.
 */
const STAFF_KEYS =
  /^(user|user-email|user-sessions|session|workstation|workstation-holder|agent|agents|avatar|subject|subject-names|sip-registration|sip-credentials|presence|login-[a-z-]+):?/;

/**
 * The spellings a number may be stored under: as the trunk sent it in the From user (national
 * `0151…`, international `0049…`, `+49…`, or bare digits) the sip app keeps it as it came. Given any
 * of `+4915…`, `004915…` or `4915…`, the other two are tried as well; a national number is taken as
 * given (its country is not known here).
 */
export function numberSpellings(input: string): string[] {
  const raw = input.trim();
  const digits = raw.replace(/[\s().-]/g, '');
  const spellings = new Set([raw, digits]);
  const international = /^\+(\d+)$/.exec(digits)?.[1] ?? /^00(\d+)$/.exec(digits)?.[1];
  if (international) for (const form of [`+${international}`, `00${international}`, international]) spellings.add(form);
  return [...spellings].filter((s) => s.length > 0);
}

export class PatientNumberError extends Error {}

/** True when `text` holds one of the spellings as a whole number (not inside a longer one). */
function mentions(text: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((pattern) => pattern.test(text));
}

function wholeNumberPatterns(spellings: readonly string[]): RegExp[] {
  return spellings.map((s) => new RegExp(`(?<![0-9])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9])`));
}

/** What `forget` removed, by kind, with the keys (or stream entries) it touched. */
export interface ForgetReport {
  spellings: string[];
  /** "what: key" lines, in the order removed. */
  removed: string[];
  /** Calls still in progress: left as they are (removing them would cut the call); run again after. */
  skippedActiveCalls: string[];
}

/** The id at the end of a key (`task:<id>` → `<id>`). */
const idOf = (key: string, prefix: string): string => key.slice(prefix.length);

/**
 * Removes a patient's number from everything in Redis (docs/security.md, "Forgetting a patient"):
 * every key whose name or value holds it, every stream entry that mentions it, and the index entries
 * of what was removed. Calls in progress are left alone and reported.
 */
export async function forgetPatient(
  redis: Redis,
  input: string,
  voicemail?: VoicemailService,
  contacts?: ContactService,
): Promise<ForgetReport> {
  if (!/^\+?[0-9\s().-]+$/.test(input.trim()) || (input.match(/\d/g)?.length ?? 0) < 6) {
    throw new PatientNumberError(`"${input}" is not a phone number (at least 6 digits, with an optional leading +).`);
  }
  const spellings = numberSpellings(input);
  const patterns = wholeNumberPatterns(spellings);
  const report: ForgetReport = { spellings, removed: [], skippedActiveCalls: [] };
  // Voicemail messages: their audio files too, which the scan below cannot see.
  for (const id of (await voicemail?.forgetNumber(spellings)) ?? []) report.removed.push(`voicemail message: ${id}`);
  // The contact is stored under the E.164 form, which a national spelling does not show.
  const contact = contacts?.normalize(input);
  if (contact !== undefined && (await contacts?.forget(contact))) report.removed.push(`contact: ${contact}`);
  const active = new Set(await redis.smembers(RedisKeys.activeCalls));
  const removedTasks = new Set<string>();

  const task = RedisKeys.task('');
  const callback = RedisKeys.callback('');
  const callRecord = RedisKeys.callRecord('');
  const call = RedisKeys.call('');
  const callSip = RedisKeys.callSip('');

  for await (const keys of redis.scanStream({ count: SCAN_COUNT }) as AsyncIterable<string[]>) {
    for (const key of keys) {
      if (STAFF_KEYS.test(key)) continue;
      const type = await redis.type(key);
      const callId = key.startsWith(call) ? idOf(key, call) : key.startsWith(callSip) ? idOf(key, callSip) : undefined;
      if (type === 'stream') {
        for (const [id, fields] of await redis.xrange(key, '-', '+')) {
          if (mentions(fields.join('\n'), patterns)) {
            await redis.xdel(key, id);
            report.removed.push(`stream entry: ${key} ${id}`);
          }
        }
        continue;
      }
      const inName = mentions(key, patterns);
      if (type === 'string') {
        const value = (await redis.get(key)) ?? '';
        if (!inName && !mentions(value, patterns)) continue;
        if (callId !== undefined && active.has(callId)) {
          report.skippedActiveCalls.push(callId);
          continue;
        }
        await redis.del(key);
        report.removed.push(`${kindOf(key)}: ${key}`);
        if (key.startsWith(task)) {
          const id = idOf(key, task);
          removedTasks.add(id);
          await redis
            .multi()
            .srem(RedisKeys.openTasks, id)
            .zrem(RedisKeys.closedTasks, id)
            .del(RedisKeys.taskCallback(id))
            .exec();
        } else if (key.startsWith(callback)) {
          await redis.zrem(RedisKeys.callbacks, idOf(key, callback));
        } else if (key.startsWith(callRecord)) {
          await redis.zrem(RedisKeys.callRecords, idOf(key, callRecord));
        }
      } else if (type === 'hash') {
        const hash = await redis.hgetall(key);
        const fields = Object.entries(hash).filter(
          ([name, value]) => mentions(name, patterns) || mentions(value, patterns),
        );
        if (!inName && fields.length === 0) continue;
        if (callId !== undefined) {
          if (active.has(callId)) {
            report.skippedActiveCalls.push(callId);
            continue;
          }
          // A call's hash is about that one call: it goes whole, with its place in the call lists.
          await redis
            .multi()
            .del(key)
            .zrem(RedisKeys.abandonedCalls, callId)
            .zrem(RedisKeys.waitingCalls, callId)
            .exec();
          report.removed.push(`${kindOf(key)}: ${key}`);
        } else if (inName) {
          await redis.del(key);
          report.removed.push(`${kindOf(key)}: ${key}`);
        } else {
          await redis.hdel(key, ...fields.map(([name]) => name));
          report.removed.push(`hash fields: ${key} ${fields.map(([name]) => name).join(' ')}`);
        }
      } else if (type === 'set' || type === 'zset' || type === 'list') {
        const members =
          type === 'set'
            ? await redis.smembers(key)
            : type === 'zset'
              ? await redis.zrange(key, 0, -1)
              : await redis.lrange(key, 0, -1);
        const matching = members.filter((m) => mentions(m, patterns));
        if (inName) {
          await redis.del(key);
          report.removed.push(`${type}: ${key}`);
        } else if (matching.length > 0) {
          if (type === 'set') await redis.srem(key, ...matching);
          else if (type === 'zset') await redis.zrem(key, ...matching);
          else for (const m of matching) await redis.lrem(key, 0, m);
          report.removed.push(`${type} members: ${key} (${matching.length})`);
        }
      }
    }
  }

  // A call's link to a removed task names no number, but leads to nothing now.
  if (removedTasks.size > 0) {
    for await (const keys of redis.scanStream({ match: RedisKeys.callTask('*'), count: SCAN_COUNT }) as AsyncIterable<
      string[]
    >) {
      for (const key of keys) {
        if (removedTasks.has((await redis.get(key)) ?? '')) {
          await redis.del(key);
          report.removed.push(`call's task link: ${key}`);
        }
      }
    }
  }
  report.skippedActiveCalls = [...new Set(report.skippedActiveCalls)];
  return report;
}

function kindOf(key: string): string {
  const prefix = key.slice(0, key.indexOf(':') + 1);
  const kinds: Record<string, string> = {
    [RedisKeys.task('')]: 'task',
    [RedisKeys.callback('')]: 'callback',
    [RedisKeys.callbackGrant('')]: 'callback grant',
    [RedisKeys.callRecord('')]: 'call record (statistics)',
    [RedisKeys.call('')]: 'call',
    [RedisKeys.callSip('')]: "call's SIP state",
    [RedisKeys.patientTask('')]: "patient's open task pointer",
    [RedisKeys.patientLastSubject('')]: "patient's last subject",
  };
  return kinds[prefix] ?? 'key';
}
