"""Lua scripts: each atomic check-and-write on Redis, named, with its KEYS/ARGV/return
(the inbound call's and the call record's are in ``call_scripts``).

Registered once per client with ``register_script`` (EVALSHA, falling back to EVAL).
Keys not known before the script runs (a person's strategies, found from the phone) are
built inside the script from a family's start, written ``$name`` in the source: ``lua``
replaces each with the office's own from ``Keys.lua_families`` when the store registers
the script, so no key name is spelled here (an unknown ``$name`` fails at registration).
"""

from __future__ import annotations

import re

from callguard.store.audit import LUA as AUDIT
from callguard.store.keys import Keys

_FAMILY = re.compile(r"\$([a-z_]+)")


def lua(script: str, keys: Keys) -> str:
    """The script with each ``$family`` replaced by that key family's start, quoted."""
    families = keys.lua_families()
    # A prefix is letters, digits and _ . : - { } (keys.check_prefix): safe in '…'.
    return _FAMILY.sub(lambda match: f"'{families[match.group(1)]}'", script)


# CREATE_PERSON: claim every phone for one person, or none; audit it in the same step.
#   KEYS[1] person:{id}  KEYS[2] people  KEYS[3..] phone:{e164}
#   ARGV[1] person id  ARGV[2] JSON flat list of the person's hash: field, value, ...
#   ARGV[3] JSON audit entry (callguard.store.audit.plan)
# Returns {"conflict", index of the first phone held by another person} | {"created"}
CREATE_PERSON = (
    AUDIT
    + """
for i = 3, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then
    return {'conflict', tostring(i - 3)}
  end
end
for i = 3, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[2])))
audit(cjson.decode(ARGV[3]))
return {'created'}
"""
)

# UPDATE_PERSON: a person's details replaced, their phones moved with them, in one step:
# the phones they no longer have released, the new ones claimed (none if any is held by
# another person); only when the person and their strategies are still as the change was
# read and checked from (``RegisterStore.read_person``), so no edit made meanwhile is lost
# and none goes unchecked against a strategy written meanwhile.
#   KEYS[1] person:{id}  KEYS[2..n+1] phone:{e164} of the new phones  KEYS[n+2..] the old
#   ARGV[1] person id  ARGV[2] n
#   ARGV[3] JSON {"fields": person:{id} as read, "strategies": {strategy id: text as read}}
#   ARGV[4] JSON list of the fields to clear  ARGV[5] JSON flat list: field, value, ...
#   ARGV[6] JSON audit entry
# Returns {"missing"} | {"changed"} | {"conflict", index of the new phone held} | {"updated"}
UPDATE_PERSON = (
    AUDIT
    + """
local held = redis.call('HGETALL', KEYS[1])
if #held == 0 then
  return {'missing'}
end
local read = cjson.decode(ARGV[3])
local unmatched = 0
for _ in pairs(read.fields) do unmatched = unmatched + 1 end
for i = 1, #held, 2 do
  if read.fields[held[i]] ~= held[i + 1] then
    return {'changed'}
  end
  unmatched = unmatched - 1
end
if unmatched ~= 0 then
  return {'changed'}
end
for sid, text in pairs(read.strategies) do
  if redis.call('GET', $strategy .. sid) ~= text then
    return {'changed'}
  end
end
local n = tonumber(ARGV[2])
for i = 2, n + 1 do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then
    return {'conflict', tostring(i - 2)}
  end
end
for i = n + 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
for i = 2, n + 1 do
  redis.call('SET', KEYS[i], ARGV[1])
end
redis.call('HDEL', KEYS[1], unpack(cjson.decode(ARGV[4])))
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[5])))
audit(cjson.decode(ARGV[6]))
return {'updated'}
"""
)


# COMPLETE_SUBJECT_ACCESS: mark a subject access request completed, once; audit it with it.
#   KEYS[1] subject-access:{id}
#   ARGV[1] the completed request's JSON  ARGV[2] JSON audit entry (store.audit.audit_arg)
# Returns "completed", "already" (completed before: nothing written) or "missing".
COMPLETE_SUBJECT_ACCESS = (
    AUDIT
    + """
local raw = redis.call('GET', KEYS[1])
if not raw then
  return 'missing'
end
local current = cjson.decode(raw)
if current.completed_on and current.completed_on ~= cjson.null then
  return 'already'
end
redis.call('SET', KEYS[1], ARGV[1])
audit(cjson.decode(ARGV[2]))
return 'completed'
"""
)


# AUDIT_READS: append the audit entries of one read (one per person it showed), in one step.
#   KEYS[1] audit (the stream, named so a Cluster client sends the script to the office's node)
#   ARGV[1] JSON [entry, ...], each as store.audit.audit_arg gives it
# Returns the number of entries written.
AUDIT_READS = (
    AUDIT
    + """
local entries = cjson.decode(ARGV[1])
for _, entry in ipairs(entries) do
  audit(entry)
end
return #entries
"""
)
