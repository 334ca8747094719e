"""The call record's Lua scripts after the inbound call: update it, and make it say the
fail-open answer was given (the inbound call's own are in ``call_scripts``).

Each is named, with its KEYS/ARGV/return, and registered through ``scripts.lua`` (which
fills in each ``$family``, so no key name is spelled here).
"""

# UPDATE_CALL: set fields on an existing call record; never creates a partial record. Nothing
# is put back: a status or the other leg's status further back than the stored one (by
# ARGV[6]; a record without a status is ringing), and a message without its triage over a
# triaged one, are left out, and then the record is not added to the index either. So an
# update applied late or twice (a callback out of order, a spool replayed again) puts no call
# back to an earlier status and undoes no triage; other fields are simply set again.
#   KEYS[1] call:{sid}  KEYS[2] calls:live  KEYS[3] call:{sid}:held  KEYS[4] calls:held
#   ARGV[1] JSON {field: JSON text}  ARGV[2] "1" when the call is finished (leave the live set)
#   ARGV[3] call sid   ARGV[4] optional ZSET key to add the sid to, ARGV[5] its score
#   ARGV[6] JSON {status: how far along it is} (records.STATUS_PROGRESS)
#   ARGV[7] optional: the update as spooled, held in KEYS[3] for ARGV[8] seconds when there is
#   no record (a replay: its record is still in another replica's spool); the sid is then in
#   KEYS[4], by the time it was first held, until DROP_HELD finds nothing held for it
# A message's triage is never replaced by another (the first person's stands; the same one
# again is simply set again).
# Returns 1 when the record is there (updated, or left as it is), 2 when there is no record
# and the update is held for it, 0 when there is no record (the caller spools the update),
# 3 when the record is there but its message was triaged already, otherwise (left as it is).
UPDATE_CALL = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[7] and ARGV[7] ~= '' then
    redis.call('RPUSH', KEYS[3], ARGV[7])
    redis.call('EXPIRE', KEYS[3], ARGV[8])
    redis.call('ZADD', KEYS[4], 'NX', redis.call('TIME')[1], ARGV[3])
    return 2
  end
  return 0
end
local fields = cjson.decode(ARGV[1])
local progress = cjson.decode(ARGV[6])
local left_out = false
for _, name in ipairs({'status', 'other_leg_status'}) do
  if fields[name] then
    local stored = redis.call('HGET', KEYS[1], name)
    if not stored and name == 'status' then
      stored = '"ringing"'
    end
    local was = stored and progress[cjson.decode(stored)]
    local now = progress[cjson.decode(fields[name])]
    if was and now and now < was then
      fields[name] = nil
      left_out = true
    end
  end
end
local triaged_already = false
if fields.message then
  local stored = redis.call('HGET', KEYS[1], 'message')
  -- A record stored whole (before records went sparse) holds "null" for no message.
  local old, new = stored and cjson.decode(stored), cjson.decode(fields.message)
  local old_triaged = type(old) == 'table' and old.triage and old.triage ~= cjson.null
  local new_triaged = type(new) == 'table' and new.triage and new.triage ~= cjson.null
  if old_triaged and not new_triaged then
    fields.message = nil
    left_out = true
  elseif old_triaged and new_triaged and stored ~= fields.message then
    -- The first triage stands: another person's, made meanwhile, is not overwritten.
    fields.message = nil
    left_out = true
    triaged_already = true
  end
end
local flat = {}
for name, value in pairs(fields) do
  flat[#flat + 1] = name
  flat[#flat + 1] = value
end
if #flat > 0 then
  redis.call('HSET', KEYS[1], unpack(flat))
end
if ARGV[2] == '1' then
  redis.call('SREM', KEYS[2], ARGV[3])
end
if ARGV[4] and ARGV[4] ~= '' and not left_out then
  redis.call('ZADD', ARGV[4], ARGV[5], ARGV[3])
end
if triaged_already then
  return 3
end
return 1
"""

# ADD_WARNING: log a warning given on a live call, unless staff have ended it, and count it
# as being played (KEYS[3]) until PLAYED_WARNING: END_CALL (store.file_notes) refuses to end
# a call while one is, so a call is never ended on the strength of a warning the phone system
# then failed to play; and a warning is either in the record before the call was ended, and
# so in its file note, or refused.
#   KEYS[1] call:{sid}  KEYS[2] call:{sid}:warnings  KEYS[3] call:{sid}:playing
#   ARGV[1] the warning (JSON)  ARGV[2] seconds the count of playing warnings is kept at most
# Returns the warning's number in the call (1 for the first), 0 when staff have ended the
# call, -1 when there is no record.
ADD_WARNING = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local ended = redis.call('HGET', KEYS[1], 'ended')
if ended and ended ~= 'null' then
  return 0
end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return redis.call('RPUSH', KEYS[2], ARGV[1])
"""

# PLAYED_WARNING: a warning ADD_WARNING logged has been played (ARGV[2] "1"), or could not be
# (""), when it is taken back out of the record; either way it is no longer being played.
#   KEYS[1] call:{sid}:warnings  KEYS[2] call:{sid}:playing  ARGV[1] the warning (JSON)
PLAYED_WARNING = """
if ARGV[2] ~= '1' then
  redis.call('LREM', KEYS[1], 1, ARGV[1])
end
if tonumber(redis.call('DECR', KEYS[2])) <= 0 then
  redis.call('DEL', KEYS[2])
end
return 1
"""

# DROP_HELD: forget the first ARGV[1] updates held for a record (applied), keeping any held
# since; once none is left, the call leaves the index of calls with updates held.
#   KEYS[1] call:{sid}:held  KEYS[2] calls:held  ARGV[1] how many  ARGV[2] call sid
# Returns {how many are still held, 1 if the call left the index now else 0}.
DROP_HELD = """
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
local left = redis.call('LLEN', KEYS[1])
local removed = 0
if left == 0 then
  removed = redis.call('ZREM', KEYS[2], ARGV[2])
end
return {left, removed}
"""

# DEGRADE_CALL: a call the fail-open path answered, whose record is in Redis all the same (a
# write that landed as Redis failed, its answer lost; or an earlier request for the same
# CallSid). The caller heard the answer given last: if that is the degraded one, the record
# is made to say what happened (outcome, rule, route, recording, degraded: true), keeping
# who called, and its outcome, breach and live indexes follow. A field the plan leaves out
# (at its default) is removed from the record, so reads as its default.
#   KEYS[1] call:{sid}  KEYS[2] calls  KEYS[3] calls:live
#   ARGV[1] JSON plan of the degraded record  ARGV[2] JSON terminal statuses
# Returns 1 when the record was changed, 0 when there is none, it is degraded already, or
# it was written for a later request than the degraded answer.
DEGRADE_CALL = """
local stored = redis.call('HMGET', KEYS[1], 'degraded', 'outcome', 'strategy_ids', 'status')
if not stored[2] or stored[1] == 'true' then
  return 0
end
local plan = cjson.decode(ARGV[1])
local score = tonumber(redis.call('ZSCORE', KEYS[2], plan.sid) or plan.score)
if score > plan.score then
  return 0
end
local flat, defaults = {}, {}
for _, name in ipairs({'outcome', 'rule', 'route_to', 'spoc_name', 'recorded', 'max_minutes',
                       'next_permitted_at', 'degraded'}) do
  if plan.fields[name] then
    flat[#flat + 1] = name
    flat[#flat + 1] = plan.fields[name]
  else
    defaults[#defaults + 1] = name
  end
end
redis.call('HSET', KEYS[1], unpack(flat))
if #defaults > 0 then
  redis.call('HDEL', KEYS[1], unpack(defaults))
end
local old_outcome = cjson.decode(stored[2])
local new_outcome = cjson.decode(plan.fields.outcome)
redis.call('ZREM', $calls_by_outcome .. old_outcome, plan.sid)
redis.call('ZADD', $calls_by_outcome .. new_outcome, score, plan.sid)
if old_outcome == 'refuse' and stored[3] then
  for _, strategy_id in ipairs(cjson.decode(stored[3])) do
    redis.call('ZREM', $breaches .. strategy_id, plan.sid)
  end
end
local terminal = false
for _, status in ipairs(cjson.decode(ARGV[2])) do
  if stored[4] and cjson.decode(stored[4]) == status then terminal = true end
end
if plan.live and not terminal then
  redis.call('SADD', KEYS[3], plan.sid)
end
return 1
"""
