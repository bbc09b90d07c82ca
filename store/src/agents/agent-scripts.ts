import { RedisChannels, RedisKeys, TEAM_EVENTS_MAX_LENGTH } from '../keys.js';
import { agentScript } from './agent-lua.js';

/*
 * The scripts of AgentRecord, one per move. Each reads the agent (`HMGET state, workstationId, callId,
 * …`, so that position() reads the first three), computes where the move leads, asks check() and
 * returns {'refused', reason, from} before any write when the table says no. Other refusals (the
 * workstation is held, the call is not waiting …) also come before any write. The agent, workstation
 * and call keys are built from ids inside the scripts where the id is only known there; Deskline runs
 * on one Redis (or Sentinel), not Redis Cluster.
 */

const AGENT_PREFIX = RedisKeys.agent('');
const HOLDER_PREFIX = RedisKeys.workstationHolder('');
const CALL_PREFIX = RedisKeys.call('');
/** The note force-off leaves in the agent hash, as a Lua argument list. */
const FORCED_OFF_FIELDS = `'forcedOffBy', 'forcedOffAt', 'forcedOffFrom'`;

/** Every agent change is a team event (docs/presence-and-pause.md): panels show who is ringing or paused. */
const teamEvent = (streamKey: string, userId: string): string =>
  `redis.call('XADD', ${streamKey}, 'MAXLEN', '~', '${TEAM_EVENTS_MAX_LENGTH}', '*', 'userId', ${userId})`;

const refuse = `local reason = check(from, to)
if reason then return {'refused', reason, from} end`;

/**
 * Read-only: the agent's position as the scripts see it.
 *   KEYS: agent:<userId>
 */
export const POSITION = agentScript(
  'pick',
  `return position(redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId'))`,
);

/**
 * Puts the user on a workstation, leaving the one they were on; refuses one held by someone else, and
 * any change while the agent has a call. A paused agent stays paused on the new workstation.
 *   KEYS: agent:<userId>, workstation-holder:<new>, agents:idle, stream:team-events
 *   ARGV: userId, workstationId, now
 *   returns: {'picked', to, previous workstationId or '', pausedUntil or '', pausedAt or ''}
 *     | {'same'} | {'held', holder} | {'refused', reason, from}
 */
export const PICK = agentScript(
  'pick',
  `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId', 'pausedUntil', 'pausedAt')
local from = position(agent)
local to = 'available'
if from == 'paused' then to = 'paused' elseif from ~= 'offline' and from ~= 'available' then to = from end
${refuse}
if from ~= 'offline' and agent[2] == ARGV[2] then return {'same'} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return {'held', holder} end
redis.call('SET', KEYS[2], ARGV[1])
if agent[2] and agent[2] ~= ARGV[2] and redis.call('GET', '${HOLDER_PREFIX}' .. agent[2]) == ARGV[1] then
  redis.call('DEL', '${HOLDER_PREFIX}' .. agent[2])
end
redis.call('HDEL', KEYS[1], ${FORCED_OFF_FIELDS})
if to == 'paused' then
  redis.call('HSET', KEYS[1], 'userId', ARGV[1], 'workstationId', ARGV[2], 'state', 'paused')
else
  redis.call('HSET', KEYS[1], 'userId', ARGV[1], 'workstationId', ARGV[2], 'state', 'available', 'idleSince', ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('PUBLISH', '${RedisChannels.routeWake}', ARGV[1])
end
${teamEvent('KEYS[4]', 'ARGV[1]')}
return {'picked', to, agent[2] or '', agent[4] or '', agent[5] or ''}`,
);

/**
 * leave and force-off: checks the move, lets the workstation go if the user still holds it, and
 * deletes the agent (out of the idle agents and the pause schedule); `agent` is left for the caller.
 *   KEYS: agent:<userId>, agents:idle, agents:pause-ends, stream:team-events   ARGV[1]: userId
 */
const takeOff = `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId')
local from = position(agent)
local to = 'offline'
${refuse}
if agent[2] and redis.call('GET', '${HOLDER_PREFIX}' .. agent[2]) == ARGV[1] then
  redis.call('DEL', '${HOLDER_PREFIX}' .. agent[2])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', '${RedisChannels.pauseChanged}', ARGV[1])
${teamEvent('KEYS[4]', 'ARGV[1]')}`;

/**
 * Takes the user off their workstation (logout, or leaving it on purpose), from wherever they are; a
 * pause ends with it. The workstation is let go only if the user still holds it.
 *   KEYS: agent:<userId>, agents:idle, agents:pause-ends, stream:team-events
 *   ARGV: userId
 *   returns: {'left', workstationId or ''} | {'refused', reason, from}
 */
export const LEAVE = agentScript(
  'leave',
  `
${takeOff}
return {'left', agent[2] or ''}`,
);

/**
 * A manager takes the user off their workstation (force-off): as LEAVE, but refused during a call, and
 * the hash keeps only who did it and when (forcedOffBy, forcedOffAt, forcedOffFrom), for the user's
 * panel; the next pick clears them.
 *   KEYS: agent:<userId>, agents:idle, agents:pause-ends, stream:team-events
 *   ARGV: userId, the manager's name, now
 *   returns: {'forced-off', workstationId} | {'refused', reason, from}
 */
export const FORCE_OFF = agentScript(
  'force-off',
  `
${takeOff}
redis.call('HSET', KEYS[1], 'forcedOffBy', ARGV[2], 'forcedOffAt', ARGV[3], 'forcedOffFrom', agent[2])
return {'forced-off', agent[2]}`,
);

/** extend: the new end is the running pause's end plus the duration. */
const MOVE_END = `if not paused then return {'refused', 'no pause end to move', from} end
pausedUntil = tonumber(agent[5]) + tonumber(ARGV[3])`;

/**
 * Starts a pause, or replaces its end (`pause`), or moves its end later (`extend`). Pausing while
 * ringing or on a call is allowed: the call goes on, `callId` stays, and the agent is paused-on-call.
 * A pause that is replaced or extended keeps its start, and may not end more than the maximum after it.
 *   KEYS: agent:<userId>, agents:idle, agents:pause-ends, stream:team-events
 *   ARGV: userId, now, duration in ms, max pause in ms
 *   returns: {'paused', pausedAt, pausedUntil} | {'too-long'} | {'refused', reason, from}
 */
const pauseScript = (move: 'pause' | 'extend'): string =>
  agentScript(
    move,
    `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId', 'pausedAt', 'pausedUntil')
local from = position(agent)
local to = 'paused'
if agent[3] and from ~= 'offline' then to = 'paused-on-call' end
${refuse}
local now = tonumber(ARGV[2])
local paused = agent[1] == 'paused' and agent[5]
local pausedAt = now
if paused and agent[4] then pausedAt = tonumber(agent[4]) end
local pausedUntil = now + tonumber(ARGV[3])
${move === 'extend' ? MOVE_END : ''}
if pausedUntil - pausedAt > tonumber(ARGV[4]) then return {'too-long'} end
redis.call('HSET', KEYS[1], 'state', 'paused', 'pausedAt', string.format('%d', pausedAt), 'pausedUntil', string.format('%d', pausedUntil))
redis.call('HDEL', KEYS[1], 'pauseReason')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], pausedUntil, ARGV[1])
${teamEvent('KEYS[4]', 'ARGV[1]')}
redis.call('PUBLISH', '${RedisChannels.pauseChanged}', ARGV[1])
return {'paused', string.format('%d', pausedAt), string.format('%d', pausedUntil)}`,
  );
export const PAUSE = pauseScript('pause');
export const EXTEND = pauseScript('extend');

/**
 * Ending one agent's pause: available (idleSince now, into agents:idle, route:wake), unless the agent
 * paused during a call that is still going on: then back `ringing` or `on-call` for it, and the sip
 * app's release makes them available when it ends. The hash keeps the pause's span (lastPausedAt,
 * lastPauseEndedAt) for the missed-calls list. Returns {'ended', to} or {'refused', reason, from}.
 */
const endPause = `
local function endPause(userId, now)
  local agentKey = '${AGENT_PREFIX}' .. userId
  local agent = redis.call('HMGET', agentKey, 'state', 'workstationId', 'callId', 'pausedAt', 'pauseReason')
  local from = position(agent)
  local to = 'available'
  if from == 'paused-on-call' then
    local callState = redis.call('HGET', '${CALL_PREFIX}' .. agent[3], 'state')
    if callState == 'bridged' then to = 'on-call' elseif callState == 'ringing' then to = 'ringing' end
  end
  ${refuse}
  redis.call('ZREM', KEYS[1], userId)
  if to == 'available' then redis.call('HDEL', agentKey, 'callId') end
  redis.call('HDEL', agentKey, 'pausedUntil', 'pausedAt', 'pauseReason', 'missedRings')
  redis.call('HSET', agentKey, 'state', to)
  -- A wrap-up is no absence: its span is not kept for the missed-calls list.
  if agent[5] ~= 'wrap-up' then redis.call('HSET', agentKey, 'lastPausedAt', agent[4] or now, 'lastPauseEndedAt', now) end
  if to == 'available' then
    redis.call('HSET', agentKey, 'idleSince', now)
    redis.call('ZADD', KEYS[2], now, userId)
    redis.call('PUBLISH', '${RedisChannels.routeWake}', userId)
  end
  ${teamEvent('KEYS[3]', 'userId')}
  redis.call('PUBLISH', '${RedisChannels.pauseChanged}', userId)
  return {'ended', to}
end`;

/**
 * "I'm back": ends the user's pause now.
 *   KEYS: agents:pause-ends, agents:idle, stream:team-events   ARGV: now, userId
 *   returns: {'ended', to} | {'refused', reason, from}
 */
export const END_PAUSE = agentScript('end-pause', `${endPause}\nreturn endPause(ARGV[2], ARGV[1])`);

/**
 * Ends every pause whose `pausedUntil` has come (the pause timer of both services runs this).
 * Idempotent: a pause that was ended, replaced by a later end, or whose agent logged out is left alone
 * (and dropped from, or put back at its new end in, the schedule).
 *   KEYS: agents:pause-ends, agents:idle, stream:team-events   ARGV: now
 *   returns: the userIds whose pause ended
 */
export const END_DUE_PAUSES = agentScript(
  'end-pause',
  `${endPause}
local now = tonumber(ARGV[1])
local ended = {}
for _, userId in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local pausedUntil = tonumber(redis.call('HGET', '${AGENT_PREFIX}' .. userId, 'pausedUntil'))
  if pausedUntil and pausedUntil > now then
    redis.call('ZADD', KEYS[1], pausedUntil, userId)
  elseif endPause(userId, ARGV[1])[1] == 'ended' then
    ended[#ended + 1] = userId
  else
    redis.call('ZREM', KEYS[1], userId)
  end
end
return ended`,
);

/**
 * The claim: one script, so that two sip app instances can never ring one agent, nor hand one call
 * out twice. A paused agent is not `available`, so is never claimed. With the call's queue's members
 * (the call plan's memberIds, issue 15) after the call id, only one of them is claimed.
 *   KEYS: agent:<userId>, agents:idle, calls:waiting, sip-registration:<sipUser>, stream:team-events
 *   ARGV: userId, workstationId, callId, [memberId, …]
 *   returns: {'claimed'} | {'agent-unavailable', reason} | {'not-registered'} | {'call-not-waiting'}
 */
export const CLAIM = agentScript(
  'claim',
  `
if #ARGV > 3 then
  local member = false
  for i = 4, #ARGV do if ARGV[i] == ARGV[1] then member = true break end end
  if not member then return {'agent-unavailable', "not a member of the call's queue"} end
end
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId')
local from = position(agent)
local reason = check(from, 'ringing')
if reason then return {'agent-unavailable', reason} end
if agent[2] ~= ARGV[2] then return {'agent-unavailable', 'the agent moved to another workstation'} end
if redis.call('EXISTS', KEYS[4]) == 0 then return {'not-registered'} end
if redis.call('ZREM', KEYS[3], ARGV[3]) == 0 then return {'call-not-waiting'} end
redis.call('HSET', KEYS[1], 'state', 'ringing', 'callId', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
${teamEvent('KEYS[5]', 'ARGV[1]')}
return {'claimed'}`,
);

/**
 * The agent answered: ringing -> on-call, only while the agent's hash still names this call. An agent
 * who paused while it rang talks all the same and stays paused-on-call (nothing to write).
 *   KEYS: agent:<userId>, stream:team-events   ARGV: callId, userId
 *   returns: {'on-call'} | {'paused'} | {'refused', reason, from}
 */
export const ANSWER = agentScript(
  'answer',
  `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId')
local from = position(agent)
local to = 'on-call'
if from == 'paused-on-call' then to = from end
${refuse}
if agent[3] ~= ARGV[1] then return {'refused', 'the agent is not on this call', from} end
if to == 'paused-on-call' then return {'paused'} end
redis.call('HSET', KEYS[1], 'state', 'on-call')
redis.call('HDEL', KEYS[1], 'missedRings')
${teamEvent('KEYS[2]', 'ARGV[2]')}
return {'on-call'}`,
);

/**
 * The call no longer needs the agent (ring over, call ended): back to available with idleSince = now,
 * into agents:idle, and a route:wake for every instance; a paused agent stays paused, without the
 * call. Only while the hash still names this call: an agent who logged out (hash gone) or moved on is
 * not resurrected.
 *
 * The distribution settings (read here, so a change applies to the next release) make it a pause
 * instead (pauseReason, docs/presence-and-pause.md): after a call (on-call) with wrapUpSeconds > 0, a
 * wrap-up of that long; after an unanswered ring (`missed`) that is the autoPauseAfter-th in a row, a
 * pause of the longest a pause may last, until the agent says they are back. An answer resets the count.
 *   KEYS: agent:<userId>, agents:idle, stream:team-events, agents:pause-ends, settings:distribution
 *   ARGV: userId, callId, now, missed ('1' | '0'), the longest pause in ms
 *   returns: {'available'} | {'paused', pauseReason or ''} | {'refused', reason, from}
 */
export const RELEASE = agentScript(
  'release',
  `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'callId', 'missedRings')
local from = position(agent)
local settings = redis.call('HMGET', KEYS[5], 'wrapUpSeconds', 'autoPauseAfter')
local wrapUp = tonumber(settings[1]) or 0
local autoPause = tonumber(settings[2]) or 0
local now = tonumber(ARGV[3])
local missed = tonumber(agent[4]) or 0
if from == 'ringing' and ARGV[4] == '1' then missed = missed + 1 end
local to = 'available'
local pauseReason, pausedUntil = nil, nil
if from == 'paused-on-call' then
  to = 'paused'
elseif from == 'on-call' and wrapUp > 0 then
  to, pauseReason, pausedUntil = 'paused', 'wrap-up', now + wrapUp * 1000
elseif from == 'ringing' and ARGV[4] == '1' and autoPause > 0 and missed >= autoPause then
  to, pauseReason, pausedUntil = 'paused', 'no-answer', now + tonumber(ARGV[5])
end
${refuse}
if agent[3] ~= ARGV[2] then return {'refused', 'the agent is not on this call', from} end
redis.call('HDEL', KEYS[1], 'callId')
if from == 'paused-on-call' then return {'paused', ''} end
if from == 'ringing' and ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'missedRings', missed) end
if pauseReason then
  redis.call('HSET', KEYS[1], 'state', 'paused', 'pausedAt', ARGV[3], 'pausedUntil', string.format('%d', pausedUntil), 'pauseReason', pauseReason)
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[4], pausedUntil, ARGV[1])
  redis.call('PUBLISH', '${RedisChannels.pauseChanged}', ARGV[1])
  ${teamEvent('KEYS[3]', 'ARGV[1]')}
  return {'paused', pauseReason}
end
redis.call('HSET', KEYS[1], 'state', 'available', 'idleSince', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('PUBLISH', '${RedisChannels.routeWake}', ARGV[1])
${teamEvent('KEYS[3]', 'ARGV[1]')}
return {'available'}`,
);

/**
 * Read-only: whether anyone who can take a queue is on duty, i.e. on a workstation and not paused
 * (available, ringing or on a call): the call plan's "nobody available" overflow (issue 15).
 *   KEYS: users, agents:idle   ARGV: the queue's memberIds (none: every user)
 *   returns: 1 | 0
 */
export const ON_DUTY = agentScript(
  'pick',
  `
local ids = ARGV
if #ids == 0 then
  if redis.call('ZCARD', KEYS[2]) > 0 then return 1 end
  ids = redis.call('SMEMBERS', KEYS[1])
end
for _, userId in ipairs(ids) do
  local from = position(redis.call('HMGET', '${AGENT_PREFIX}' .. userId, 'state', 'workstationId', 'callId'))
  if from == 'available' or from == 'ringing' or from == 'on-call' then return 1 end
end
return 0`,
);
