"""Every Redis key CallGuard uses, and every TTL. Nothing else builds key names.

Layout (all under ``cg:``):
  person:{id}                 JSON Person
  person:{id}:adj             JSON list of reasonable-adjustment kinds (read on the call path)
  person:{id}:active          ZSET active strategy ids by created epoch
  person:{id}:strategies      SET of all strategy ids (any status)
  people                      ZSET person id by created epoch
  phone:{e164}                STRING owning person id (a phone belongs to one person)
  advocate:{e164}             ZSET active strategy ids naming this number as an advocate
  strategy:{id}               JSON Strategy (with revisions, reviews, shares)
  strategy:{id}:screen        JSON compact form the inbound path reads
  strategies                  ZSET strategy id by created epoch
  quota:{strategy_id}         HASH quota period id -> calls counted
  call:{sid}                  HASH call record, each field JSON-encoded
  call:{sid}:warnings         LIST JSON warnings
  calls                       ZSET call sid by received epoch (and one per person, outcome)
  breaches:{strategy_id}      ZSET refused call sids under a strategy (§3.11)
  calls:live                  SET sids of connected calls not yet finished
  repeat:{e164}:{yyyy-mm-dd}  STRING unrestricted calls that local day (§5.3)
  repeat-callers              ZSET e164 -> epoch when the threshold was crossed
  messages                    ZSET call sid by epoch: caller messages awaiting triage
  audit                       STREAM of every change and every read of personal data
  audit:person:{id}           STREAM the same entries for one person (subject access)
  user:{name}, users          JSON user; SET of names
  token:{sha256}              JSON {user, role}
"""

from __future__ import annotations

PREFIX = "cg:"

PEOPLE = PREFIX + "people"
STRATEGIES = PREFIX + "strategies"
CALLS = PREFIX + "calls"
LIVE_CALLS = PREFIX + "calls:live"
MESSAGES = PREFIX + "messages"
REPEAT_CALLERS = PREFIX + "repeat-callers"
AUDIT = PREFIX + "audit"
USERS = PREFIX + "users"

# A day's repeat-call counter outlives the day so a late call near midnight still counts.
REPEAT_COUNTER_TTL_S = 2 * 24 * 3600
# A quota hash is kept this long past the end of the latest period it counted.
QUOTA_GRACE_S = 35 * 24 * 3600


def person(person_id: str) -> str:
    return f"{PREFIX}person:{person_id}"


def person_adjustments(person_id: str) -> str:
    return f"{PREFIX}person:{person_id}:adj"


def person_active_strategies(person_id: str) -> str:
    return f"{PREFIX}person:{person_id}:active"


def person_strategies(person_id: str) -> str:
    return f"{PREFIX}person:{person_id}:strategies"


def phone_owner(e164: str) -> str:
    return f"{PREFIX}phone:{e164}"


def advocate(e164: str) -> str:
    return f"{PREFIX}advocate:{e164}"


def strategy(strategy_id: str) -> str:
    return f"{PREFIX}strategy:{strategy_id}"


def strategy_screen(strategy_id: str) -> str:
    return f"{PREFIX}strategy:{strategy_id}:screen"


def quota(strategy_id: str) -> str:
    return f"{PREFIX}quota:{strategy_id}"


def call(call_sid: str) -> str:
    return f"{PREFIX}call:{call_sid}"


def call_warnings(call_sid: str) -> str:
    return f"{PREFIX}call:{call_sid}:warnings"


def calls_by_person(person_id: str) -> str:
    return f"{PREFIX}calls:person:{person_id}"


def calls_by_outcome(outcome: str) -> str:
    return f"{PREFIX}calls:outcome:{outcome}"


def breaches(strategy_id: str) -> str:
    return f"{PREFIX}breaches:{strategy_id}"


def repeat_counter(e164: str, local_day: str) -> str:
    return f"{PREFIX}repeat:{e164}:{local_day}"


def audit_person(person_id: str) -> str:
    return f"{PREFIX}audit:person:{person_id}"


def user(name: str) -> str:
    return f"{PREFIX}user:{name}"


def token(token_hash: str) -> str:
    return f"{PREFIX}token:{token_hash}"
