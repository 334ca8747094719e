"""Every Redis key CallGuard uses, and every TTL. Nothing else builds key names.

Layout (all under PREFIX, ``cg:`` unless configured; see use_prefix):
  person:{id}                 HASH Person, each field JSON-encoded but its id (the key's) and
                              any at its default; the index the inbound path reads: adj ->
                              JSON list of reasonable-adjustment kinds, active -> the active
                              strategy ids, oldest first, space-separated (each absent when
                              none); and s:{strategy_id} -> status, for each of the person's
                              strategies no longer active
  people                      LIST person ids, oldest first
  phone:{e164}                STRING owning person id (a phone belongs to one person)
  advocate:{e164}             ZSET active strategy ids naming this number as an advocate
  strategy:{id}               STRING the Strategy, one JSON object split in two lines: the
                              fields the inbound path reads (id, person_id, matter_ref,
                              restrictions), then the rest (revisions, reviews, shares);
                              fields at their defaults left out
  strategies                  LIST strategy ids, oldest first
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
  audit:person:{id}           LIST the same entries for one person, oldest first (subject
                              access), each a JSON array [at, who, role, action, target, detail]
  user:{name}, users          JSON user; SET of names
  note:{id}                   JSON FileNote, replaced whole (compare-and-set on its version)
  notes                       ZSET file note id by created epoch
  notes:author:{name}         ZSET the same, one per author
  notification:{id}           HASH in-app notification, each field JSON-encoded
  notifications:{user}        ZSET notification id by epoch, one per recipient
  welfare:{week}              HASH staff name -> calls ended or warned on in that ISO week (§5.5)
  welfare:{week}:calls:{name} SET call sids behind that count
  welfare:{week}:alerts       HASH staff name -> id of the week's one welfare alert
  token:{sha256}              JSON {user, role}
  user:{name}:password        STRING argon2 hash of the user's password (never in the user JSON)
  session:{sha256}            HASH web sign-in session (user, role, csrf, created, flash)
  login-failures:{name}       ZSET failed sign-ins by epoch, for the lock-out window
  lock:{job}                  STRING lease token of the replica running a scheduled job
  job:{job}:{period}          STRING marks a job's run for one trigger period as done
  once:{event}                STRING marks a due event (reminder, escalation) as sent
  overdue-reviews             ZSET {strategy_id}:{review_due} by first overdue epoch
  hold:{kind}:{id}            JSON legal hold on a call, person or file note
  holds                       ZSET {kind}:{id} by placed epoch
  disposals                   STREAM retention disposals: kind, count, rule (no ids)
  report:oversight:{quarter}  JSON stored quarterly oversight report
  schema                      STRING the register's storage layout ("2"; callguard/store/migrate.py)
"""

from __future__ import annotations

import re

# Every key starts with PREFIX. On a single Redis (or Sentinel) it is "cg:"; on a Redis
# Cluster it must carry a hash tag, e.g. "cg:{lancs}:", so that every key of one office
# lands in one slot and each script and transaction touches one slot
# (CALLGUARD_REDIS_KEY_PREFIX; use_prefix() is called once at start-up).
DEFAULT_PREFIX = "cg:"
# The key names that take no argument; use_prefix() (called at the end of this module with
# the default, and again at start-up) gives them their values.
PREFIX: str
PEOPLE: str
STRATEGIES: str
CALLS: str
LIVE_CALLS: str
MESSAGES: str
REPEAT_CALLERS: str
AUDIT: str
USERS: str
NOTES: str
LEGAL_HOLDS: str
DISPOSALS: str
OVERDUE_REVIEWS: str
SCHEMA: str  # the register's storage layout (callguard/store/migrate.py)

_PREFIX_FORM = re.compile(r"[A-Za-z0-9_.:{}-]{1,64}")
_HASH_TAG = re.compile(r"\{[^{}]+\}")


class BadPrefix(ValueError):
    pass


def check_prefix(prefix: str, *, cluster: bool = False) -> str:
    """The prefix, or BadPrefix saying why it cannot be one."""
    if not _PREFIX_FORM.fullmatch(prefix):
        raise BadPrefix("must be 1-64 letters, digits or _ . : - { }")
    if not prefix.endswith(":"):
        raise BadPrefix("must end with ':'")
    tags = _HASH_TAG.findall(prefix)
    if cluster and not tags:
        raise BadPrefix("a Redis Cluster needs a hash tag in the prefix, e.g. cg:{office}:")
    if prefix.count("{") != len(tags) or prefix.count("}") != len(tags):
        raise BadPrefix("braces must form one {tag}")
    if len(tags) > 1:
        raise BadPrefix("only one {tag} is allowed (Redis hashes the first)")
    return prefix


def use_prefix(prefix: str) -> None:
    """Make every key start with ``prefix`` (once, at start-up, before any key is built)."""
    global PREFIX, PEOPLE, STRATEGIES, CALLS, LIVE_CALLS, MESSAGES, REPEAT_CALLERS
    global AUDIT, USERS, NOTES, LEGAL_HOLDS, DISPOSALS, OVERDUE_REVIEWS, SCHEMA
    PREFIX = check_prefix(prefix)
    PEOPLE = PREFIX + "people"
    STRATEGIES = PREFIX + "strategies"
    CALLS = PREFIX + "calls"
    LIVE_CALLS = PREFIX + "calls:live"
    MESSAGES = PREFIX + "messages"
    REPEAT_CALLERS = PREFIX + "repeat-callers"
    AUDIT = PREFIX + "audit"
    USERS = PREFIX + "users"
    NOTES = PREFIX + "notes"
    LEGAL_HOLDS = PREFIX + "holds"
    DISPOSALS = PREFIX + "disposals"
    OVERDUE_REVIEWS = PREFIX + "overdue-reviews"
    SCHEMA = PREFIX + "schema"


# A day's repeat-call counter outlives the day so a late call near midnight still counts.
REPEAT_COUNTER_TTL_S = 2 * 24 * 3600
# A quota hash is kept this long past the end of the latest period it counted.
QUOTA_GRACE_S = 35 * 24 * 3600
# Welfare counts are kept a little over a year, the longest span GET /api/v1/welfare shows.
WELFARE_TTL_S = 400 * 24 * 3600


def person(person_id: str) -> str:
    return f"{PREFIX}person:{person_id}"


def phone_owner(e164: str) -> str:
    return f"{PREFIX}phone:{e164}"


def advocate(e164: str) -> str:
    return f"{PREFIX}advocate:{e164}"


def strategy(strategy_id: str) -> str:
    return f"{PREFIX}strategy:{strategy_id}"


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


def note(note_id: str) -> str:
    return f"{PREFIX}note:{note_id}"


def notes_by_author(name: str) -> str:
    return f"{PREFIX}notes:author:{name}"


def notification(notification_id: str) -> str:
    return f"{PREFIX}notification:{notification_id}"


def notifications_of(user_name: str) -> str:
    return f"{PREFIX}notifications:{user_name}"


def welfare_counts(week: str) -> str:
    return f"{PREFIX}welfare:{week}"


def welfare_calls(week: str, name: str) -> str:
    return f"{PREFIX}welfare:{week}:calls:{name}"


def welfare_alerts(week: str) -> str:
    return f"{PREFIX}welfare:{week}:alerts"


# Web sign-in (callguard.web.sessions): a session outlives this much idleness, and no more
# than SESSION_MAX_S in all; failed sign-ins are remembered for the lock-out window.
SESSION_IDLE_TTL_S = 8 * 3600
SESSION_MAX_S = 12 * 3600
LOGIN_WINDOW_S = 15 * 60


def password(name: str) -> str:
    return f"{PREFIX}user:{name}:password"


def session(session_hash: str) -> str:
    return f"{PREFIX}session:{session_hash}"


def login_failures(name: str) -> str:
    return f"{PREFIX}login-failures:{name}"


# Scheduled duties (callguard.services.duties). A due event's marker outlives the event.
JOB_RUN_TTL_S = 8 * 24 * 3600


def job_lock(job: str) -> str:
    return f"{PREFIX}lock:{job}"


def job_run(job: str, period: str) -> str:
    return f"{PREFIX}job:{job}:{period}"


def once(event: str) -> str:
    return f"{PREFIX}once:{event}"


def legal_hold(kind: str, target_id: str) -> str:
    return f"{PREFIX}hold:{kind}:{target_id}"


def oversight_report(quarter: str) -> str:
    return f"{PREFIX}report:oversight:{quarter}"


use_prefix(DEFAULT_PREFIX)
