import { OWNER_FIELD } from '../call-codec.js';

/** The Lua scripts of orphaned-calls: used by sip/ (orphaned-calls.ts). */

/**
 * Takes a call over from a dead owner, if that is still its owner: of two instances starting at once
 * (or of two survivors of a third), only one takes the call.
 *   KEYS: call:<id>   ARGV: the owner seen dead ('' for none), this instance's id
 */
export const ORPHAN_TAKE_OVER = `
if (redis.call('HGET', KEYS[1], '${OWNER_FIELD}') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], '${OWNER_FIELD}', ARGV[2])
return 1`;
