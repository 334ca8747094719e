"""Lua scripts for signing in: the attempt reserved before the password is checked, and a
change to a user that ends their sessions in the same step. As in ``scripts``, each names
its KEYS, ARGV and return; ``$name`` is a key family's start (``scripts.lua``).
"""

from __future__ import annotations

# RESERVE_SIGN_IN: take one of a user name's sign-in attempts before its password is
# checked, so that concurrent attempts cannot all pass a check made before any is counted.
# Each attempt is counted as a failure until it succeeds (a success clears the name).
#   KEYS[1] login-failures:{name}   (ZSET attempt id -> epoch)
#   ARGV[1] now (epoch seconds)   ARGV[2] window (seconds)   ARGV[3] most attempts per window
#   ARGV[4] this attempt's id
# Returns {1, 0} when the attempt is taken (the password may be checked), or {0, epoch}
# when the name is locked: epoch is when the attempt that must age out first was made.
RESERVE_SIGN_IN = """
local now, window, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local taken = redis.call('ZCARD', KEYS[1])
if taken >= most then
  local oldest = redis.call('ZRANGE', KEYS[1], taken - most, taken - most, 'WITHSCORES')
  return {0, oldest[2]}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], window)
return {1, 0}
"""


# SET_ENDING_SESSIONS: change what a user signs in with or may do (their password hash, or
# their record with a new role or disabled) and end every session of theirs in the same
# step, so no request can slip through on an old session after the change (CONTRACT §5).
#   KEYS[1] the key to set (user:{name}:password, or user:{name})
#   KEYS[2] sessions:user:{name}   (SET sha256 of each of the user's sessions)
#   ARGV[1] the new value of KEYS[1]
# Builds session:{sha256} from $session for each member. Returns how many sessions ended.
SET_ENDING_SESSIONS = """
redis.call('SET', KEYS[1], ARGV[1])
local ended = 0
for _, sha in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  ended = ended + redis.call('DEL', $session .. sha)
end
redis.call('DEL', KEYS[2])
return ended
"""


# REPLACE_USER: an admin's change to a user (details, role, disabled), written only if the
# record is still as it was read, so that two changes made at once cannot undo each other (a
# save of someone's details made as they were disabled would enable them again); and, when
# the change leaves them no enabled admin, only if another enabled admin remains, so that
# two admins demoting or disabling each other at once cannot leave none. Optionally ends
# every session of theirs in the same step (as SET_ENDING_SESSIONS).
#   KEYS[1] user:{name}   KEYS[2] sessions:user:{name}   KEYS[3] users (SET of names)
#   ARGV[1] the record as read   ARGV[2] the new record   ARGV[3] "1": end their sessions
#   ARGV[4] "1": the new record is no enabled admin where the old one was   ARGV[5] name
# Builds user:{other} from $user and session:{sha256} from $session.
# Returns {"changed"} (read again and retry) | {"last_admin"} | {"replaced", sessions ended}
REPLACE_USER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {'changed'}
end
if ARGV[4] == '1' then
  local others = 0
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if name ~= ARGV[5] then
      local ok, other = pcall(cjson.decode, redis.call('GET', $user .. name) or 'null')
      if ok and type(other) == 'table' and other.role == 'admin' and other.disabled ~= true then
        others = others + 1
      end
    end
  end
  if others == 0 then
    return {'last_admin'}
  end
end
redis.call('SET', KEYS[1], ARGV[2])
local ended = 0
if ARGV[3] == '1' then
  for _, sha in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    ended = ended + redis.call('DEL', $session .. sha)
  end
  redis.call('DEL', KEYS[2])
end
return {'replaced', ended}
"""
