"""The inbound call's Lua scripts: screen, record, and keep a refusal right (the call
record's later ones, update and degrade, are in ``call_update_scripts``).

Each is named, with its KEYS/ARGV/return, and registered through ``scripts.lua`` (which
fills in each ``$family``, so no key name is spelled here).
"""

from callguard.store.call_plans import CALLS_OWN_FIELDS, KEPT_FORM

# Shared Lua: write one call record and its indexes from its plan, one item a line
# (``call_plans.plan_lines``: no JSON for Redis to decode on an inbound call):
#   sid, score (epoch seconds), live (1/0),
#   n, then n pairs: field name, JSON text (the record's fields)
#   m, then m index keys (zsets: the call is added with its score)
#   c, then c claims: quota key, period, max, expire_at (epoch seconds; RECORD_CALL's)
#   and last, for a repeat counter only: key, ttl_s, threshold, phone, board
# The fields are only those not at their default (``CallRecord.hash_fields``): a field
# missing from a call hash reads as its default, in Python (the model) and in Lua (nil).
# Records written with every field (before this) read the same.
_WRITE_RECORD = """
local function plan_items(text)
  local items, at = {}, 1
  while true do
    local stop = string.find(text, '\\n', at, true)
    if not stop then
      items[#items + 1] = string.sub(text, at)
      return items
    end
    items[#items + 1] = string.sub(text, at, stop - 1)
    at = stop + 1
  end
end

-- Where the plan's claims start: the index of their count.
local function claims_at(plan)
  local indexes_at = 5 + 2 * tonumber(plan[4])
  return indexes_at + tonumber(plan[indexes_at]) + 1
end

local function write_record(call_key, plan, person_id)
  local sid, score, fields = plan[1], plan[2], tonumber(plan[4])
  if person_id then
    redis.call('HSET', call_key, 'person_id', cjson.encode(person_id),
               unpack(plan, 5, 4 + 2 * fields))
  else
    redis.call('HSET', call_key, unpack(plan, 5, 4 + 2 * fields))
  end
  local indexes_at = 5 + 2 * fields
  for i = indexes_at + 1, indexes_at + tonumber(plan[indexes_at]) do
    redis.call('ZADD', plan[i], score, sid)
  end
  if person_id then
    redis.call('ZADD', $calls_by_person .. person_id, score, sid)
  end
  if plan[3] == '1' then
    redis.call('SADD', $live_calls, sid)
  end
  local claims = claims_at(plan)
  local r = claims + 4 * tonumber(plan[claims]) + 1
  if plan[r] then
    local count = redis.call('INCR', plan[r])
    redis.call('EXPIRE', plan[r], plan[r + 1])
    if count == tonumber(plan[r + 2]) + 1 then
      redis.call('ZADD', plan[r + 4], score, plan[r + 3])
    end
  end
end
"""

# Shared Lua: find who a number belongs to and the active strategies that apply.
#   phone_key = phone:{e164}, advocate_key = advocate:{e164}
# The person's hash (keys.py) holds "adj" (adjustment kinds JSON) and "active" (the ids of
# the active strategies, oldest first), each absent when there are none; the register's
# writes keep them. A strategy's screening form is the first line of strategy:{id}.
# Returns person_id (or false), adjustments JSON, own screens, advocate screens, quotas.
_LOOKUP = """
local function screen_of(sid)
  local stored = redis.call('GET', $strategy .. sid)
  if not stored then return nil end
  return string.sub(stored, 1, (string.find(stored, '\\n', 1, true) or 0) - 1)
end

local function lookup(phone_key, advocate_key)
  local person_id = redis.call('GET', phone_key)
  local own, adv, quotas = {}, {}, {}
  local adjustments = '[]'
  if person_id then
    local index = redis.call('HMGET', $person .. person_id, 'adj', 'active')
    adjustments = index[1] or '[]'
    for sid in string.gmatch(index[2] or '', '%S+') do
      local screen = screen_of(sid)
      if screen then
        own[#own + 1] = screen
        quotas[#quotas + 1] = sid
        quotas[#quotas + 1] = redis.call('HGETALL', $quota .. sid)
      end
    end
  end
  for _, sid in ipairs(redis.call('ZRANGE', advocate_key, 0, -1)) do
    local screen = screen_of(sid)
    if screen then adv[#adv + 1] = screen end
  end
  return person_id, adjustments, own, adv, quotas
end
"""

# Shared Lua: a plan's quota claims (see _WRITE_RECORD): where they are, whether each has
# room, and counting them (each quota hash expires when its last period has ended).
_CLAIMS = """
local function claim_span(plan)
  local first = claims_at(plan) + 1
  return first, first + 4 * tonumber(plan[first - 1]) - 1
end

-- {quota key, period, count, ...} and whether any claim is at its max already.
local function claim_counts(plan, first, last)
  local counts, full = {}, false
  for i = first, last, 4 do
    local count = tonumber(redis.call('HGET', plan[i], plan[i + 1]) or '0')
    counts[#counts + 1] = plan[i]
    counts[#counts + 1] = plan[i + 1]
    counts[#counts + 1] = tostring(count)
    if count >= tonumber(plan[i + 2]) then full = true end
  end
  return counts, full
end

local function count_claims(plan, first, last)
  for i = first, last, 4 do
    redis.call('HINCRBY', plan[i], plan[i + 1], 1)
    local ttl = redis.call('PEXPIRETIME', plan[i])
    if ttl < tonumber(plan[i + 3]) * 1000 then
      redis.call('EXPIREAT', plan[i], plan[i + 3])
    end
  end
end
"""

# Shared Lua: a digest of everything a lookup found (the person, their adjustments, every
# screen, each quota's counts), the same whenever what was found is the same: a decision
# made on a lookup still stands while its fingerprint does (RECORD_IF_UNCHANGED). Screens
# are one line each and hold no control character (JSON escapes them), so the separators
# (line break, record separator) cannot be confused with their text.
_FINGERPRINT = """
local function fingerprint(person_id, adjustments, own, adv, quotas)
  local parts = {person_id or '', adjustments, table.concat(own, '\\n'), table.concat(adv, '\\n')}
  for i = 1, #quotas, 2 do
    local counts, flat = quotas[i + 1], {}
    for j = 1, #counts, 2 do
      flat[#flat + 1] = counts[j] .. '=' .. counts[j + 1]
    end
    table.sort(flat)
    parts[#parts + 1] = quotas[i] .. ' ' .. table.concat(flat, ' ')
  end
  return redis.sha1hex(table.concat(parts, '\\30'))
end
"""

# Shared Lua: a kept refusal (refusal:{e164}; ``call_plans.kept_refusal_text``), one item a
# line: the fingerprint of the lookup it was decided on; its form (``KEPT_FORM``); what the
# caller is told beyond the record, as JSON; then the rest of a refused call's plan without
# its sid, score, live and the call's own fields (see _WRITE_RECORD): n, then n pairs (the
# decision's fields), m, then m indexes, 0 (no claims). ``kept_plan``: the plan of this
# call's record, from it and from the unrestricted plan sent with the call (the call's own
# fields, its sid and score), with the told JSON and the decision's fields; nil if it was
# kept for another lookup, or in another form.
_KEPT_REFUSAL = (
    "\nlocal CALLS_OWN = {"
    + ", ".join(f"['{name}'] = true" for name in CALLS_OWN_FIELDS)
    + "}\n"
    + f"local KEPT_FORM = '{KEPT_FORM}'\n"
    + """
local function kept_plan(kept, seen, call)
  local items = plan_items(kept)
  if items[1] ~= seen or items[2] ~= KEPT_FORM then return nil end
  local plan, count = {call[1], call[2], '0', ''}, 0
  for i = 5, 4 + 2 * tonumber(call[4]), 2 do
    if CALLS_OWN[call[i]] then
      plan[#plan + 1] = call[i]
      plan[#plan + 1] = call[i + 1]
      count = count + 1
    end
  end
  local fields = tonumber(items[4])
  for i = 5, #items do plan[#plan + 1] = items[i] end
  plan[4] = tostring(count + fields)
  return plan, items[3], {unpack(items, 5, 4 + 2 * fields)}
end
"""
)

# SCREEN_CALL: the first (and for most callers the only) round trip of an inbound call.
#   KEYS[1] call:{sid}   KEYS[2] phone:{e164}   KEYS[3] advocate:{e164}
#   KEYS[4] refusal:{e164}
#   ARGV[1] the unrestricted record's plan, in lines (see _WRITE_RECORD; used on no match,
#           and for the call's own fields when a kept refusal stands)
# Returns one of:
#   {"existing", <HGETALL of the record>}        the same CallSid was seen before
#   {"recorded"}                                 no active strategy applies; record written
#   {"kept", told JSON, {field, JSON text, ...}}  the refusal kept for this very lookup
#                                                applies (see _KEPT_REFUSAL); record written
#   {"match", person_id or "", adjustments JSON,
#    {person strategy screens}, {advocate strategy screens},
#    {strategy_id, {HGETALL quota}, ...},
#    fingerprint}                                the caller needs a decision
SCREEN_CALL = (
    _WRITE_RECORD
    + _LOOKUP
    + _FINGERPRINT
    + _KEPT_REFUSAL
    + """
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then
  return {'existing', existing}
end
local person_id, adjustments, own, adv, quotas = lookup(KEYS[2], KEYS[3])
if #own == 0 and #adv == 0 then
  write_record(KEYS[1], plan_items(ARGV[1]), person_id or nil)
  return {'recorded'}
end
local seen = fingerprint(person_id, adjustments, own, adv, quotas)
if #own > 0 then
  local kept = redis.call('GET', KEYS[4])
  if kept then
    local plan, told, decided = kept_plan(kept, seen, plan_items(ARGV[1]))
    if plan then
      write_record(KEYS[1], plan, nil)
      return {'kept', told, decided}
    end
  end
end
return {'match', person_id or '', adjustments, own, adv, quotas, seen}
"""
)

# LOOKUP_CALLER: the same lookup with no side effects (the manager's preview, and a
# refusal decided to be kept).
#   KEYS[1] phone:{e164}   KEYS[2] advocate:{e164}
# Returns {person_id or "", adjustments JSON, own screens, advocate screens, quotas,
#          fingerprint}
LOOKUP_CALLER = (
    _LOOKUP
    + _FINGERPRINT
    + """
local person_id, adjustments, own, adv, quotas = lookup(KEYS[1], KEYS[2])
return {person_id or '', adjustments, own, adv, quotas,
        fingerprint(person_id, adjustments, own, adv, quotas)}
"""
)

# REFRESH_KEPT_REFUSAL: a kept refusal (see _KEPT_REFUSAL) made right for a lookup that
# changed: replaced by the refusal decided on the lookup as it now is, only if the lookup
# still has that fingerprint, and only if one is kept (calls make them; the register only
# keeps them right); it expires when it would have.
#   KEYS[1] phone:{e164}   KEYS[2] advocate:{e164}   KEYS[3] refusal:{e164}
#   ARGV[1] the fingerprint it was decided on
#   ARGV[2] the kept refusal without its first line
# Returns 1 when replaced, 0 when none is kept or the lookup has changed again.
REFRESH_KEPT_REFUSAL = (
    _LOOKUP
    + _FINGERPRINT
    + """
local person_id, adjustments, own, adv, quotas = lookup(KEYS[1], KEYS[2])
if #own == 0 or fingerprint(person_id, adjustments, own, adv, quotas) ~= ARGV[1] then
  return 0
end
if redis.call('SET', KEYS[3], ARGV[1] .. '\\n' .. ARGV[2], 'XX', 'KEEPTTL') then
  return 1
end
return 0
"""
)

# RECORD_CALL: count the quotas a connecting call needs and write its record, atomically
# (a spooled record replayed; a new call is written by RECORD_IF_UNCHANGED).
#   KEYS[1] call:{sid}
#   ARGV[1] the record's plan, in lines, with its claims (see _WRITE_RECORD)
# Returns {"existing", <HGETALL>} | {"full", {quota key, period, count, ...}} | {"recorded"}
# Either every claim has room and all are counted, or none is counted and nothing is written.
RECORD_CALL = (
    _WRITE_RECORD
    + _CLAIMS
    + """
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then
  return {'existing', existing}
end
local plan = plan_items(ARGV[1])
local first, last = claim_span(plan)
local counts, full = claim_counts(plan, first, last)
if full then
  return {'full', counts}
end
count_claims(plan, first, last)
write_record(KEYS[1], plan, nil)
return {'recorded'}
"""
)

# RECORD_IF_UNCHANGED: write a matched caller's call, decided on a lookup the caller of the
# script holds, only if that lookup still stands: in one step, the lookup is made again and
# its fingerprint compared with the one decided on; if equal, the plan's quotas are counted
# and its record written. A caller whose lookup the service kept from their last call is so
# screened in one round trip; a first call takes two (SCREEN_CALL, then this).
#   KEYS[1] call:{sid}   KEYS[2] phone:{e164}   KEYS[3] advocate:{e164}
#   KEYS[4] refusal:{e164}
#   ARGV[1] the fingerprint the decision was made on
#   ARGV[2] the record's plan, in lines, with its claims (see _WRITE_RECORD)
#   ARGV[3] for a refusal that does not depend on the time: the refusal to keep, without
#           its first line (see _KEPT_REFUSAL), else ""
#   ARGV[4] seconds it is kept after this call (using it does not keep it longer)
# Returns one of:
#   {"existing", <HGETALL of the record>}        the same CallSid was seen before
#   {"unmatched"}                                no active strategy applies now; nothing written
#   {"match", ... as SCREEN_CALL's}              the lookup changed: decide again on this one
#   {"recorded", fingerprint}                    written; the lookup's fingerprint after it
RECORD_IF_UNCHANGED = (
    _WRITE_RECORD
    + _LOOKUP
    + _CLAIMS
    + _FINGERPRINT
    + """
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then
  return {'existing', existing}
end
local person_id, adjustments, own, adv, quotas = lookup(KEYS[2], KEYS[3])
if #own == 0 and #adv == 0 then
  return {'unmatched'}
end
local seen = fingerprint(person_id, adjustments, own, adv, quotas)
local plan = plan_items(ARGV[2])
local first, last = claim_span(plan)
local _, full = claim_counts(plan, first, last)
if seen ~= ARGV[1] or full then
  return {'match', person_id or '', adjustments, own, adv, quotas, seen}
end
count_claims(plan, first, last)
write_record(KEYS[1], plan, nil)
if last < first then
  if ARGV[3] ~= '' then
    redis.call('SET', KEYS[4], seen .. '\\n' .. ARGV[3], 'EX', ARGV[4])
  end
  return {'recorded', seen}
end
for i = 1, #quotas, 2 do
  quotas[i + 1] = redis.call('HGETALL', $quota .. quotas[i])
end
return {'recorded', fingerprint(person_id, adjustments, own, adv, quotas)}
"""
)
