"""Every Redis key CallGuard uses, and every TTL. Nothing else builds key names.

Layout (all under the office's prefix, ``cg:`` unless configured; one ``Keys(prefix)`` per
process, built by ``callguard.bootstrap`` from the settings and handed to every store):
  person:{id}                 HASH Person, each field JSON-encoded but its id (the key's) and
                              any at its default; the index the inbound path reads: adj ->
                              JSON list of reasonable-adjustment kinds, active -> the active
                              strategy ids, oldest first, space-separated (each absent when
                              none); and s:{strategy_id} -> status, for each of the person's
                              strategies no longer active
  people                      LIST person ids, oldest first
  phone:{e164}                STRING owning person id (a phone belongs to one person)
  refusal:{e164}              STRING the refusal a call from this number got, kept with the
                              fingerprint of the lookup it was decided on, where it does not
                              read the time (services/kept_refusals.py): a copy, made by calls,
                              refreshed by the register's changes, used only while the lookup
                              is the same, expiring KEPT_REFUSAL_TTL_S after the call that made
                              it
  advocate:{e164}             ZSET active strategy ids naming this number as an advocate
  strategy:{id}               STRING the Strategy, one JSON object split in two lines: the
                              fields the inbound path reads (id, person_id, matter_ref,
                              restrictions), then the rest (revisions, reviews, shares);
                              fields at their defaults left out
  strategies                  LIST strategy ids, oldest first
  quota:{strategy_id}         HASH quota period id -> calls counted
  call:{sid}                  HASH call record, each field JSON-encoded
  call:{sid}:warnings         LIST JSON warnings
  call:{sid}:held             LIST spooled updates replayed before their record was written
                              (it was in another replica's spool), applied when it is
  calls:held                  ZSET sids with updates held for their record, by epoch first
                              held: swept for records written since (the held_updates duty)
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
  notes:person:{id}           ZSET the same, one per person the call was from (layout 3)
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
  demo:loaded                 STRING set once the demo's data is loaded (callguard demo only)
  schema                      STRING the register's storage layout ("2"; callguard/store/migrate.py)
  token:{sha256}              (since token ids) JSON {id, user, role, created, expires}
  token:ids                   HASH token id -> sha256 of the token (list, revoke by id)
  token:last-used             HASH token id -> epoch last used (written at most once a minute)
  sessions:user:{name}        SET sha256 of each of the user's live sessions (end them all)
  appeal:{id}                 STRING JSON Appeal, replaced whole (compare-and-set on its text)
  appeals                     ZSET appeal id by recorded epoch
  appeals:strategy:{id}       ZSET the same, one per strategy
  subject-access:{id}         JSON subject access request (received, due, completed)
  subject-access              ZSET request id by received epoch (every request)
  subject-access:person:{id}  ZSET the same, one per person
  recordings:to-delete        ZSET Twilio recording sid by epoch of the next try to delete it
                              (a delete that failed when retention removed its call record)
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "cg:"

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


# A day's repeat-call counter outlives the day so a late call near midnight still counts.
REPEAT_COUNTER_TTL_S = 2 * 24 * 3600
# A quota hash is kept this long past the end of the latest period it counted.
QUOTA_GRACE_S = 35 * 24 * 3600
# Welfare counts are kept a little over a year, the longest span GET /api/v1/welfare shows.
WELFARE_TTL_S = 400 * 24 * 3600


# Web sign-in (callguard.web.sessions): a session outlives this much idleness, and no more
# than SESSION_MAX_S in all; failed sign-ins are remembered for the lock-out window.
SESSION_IDLE_TTL_S = 8 * 3600
SESSION_MAX_S = 12 * 3600
LOGIN_WINDOW_S = 15 * 60


# A kept refusal (refusal:{e164}) is a copy: it goes this long after the call that made it,
# so no copy outlives the person's calls by much (the next call decided makes it again).
KEPT_REFUSAL_TTL_S = 8 * 24 * 3600


# An update held for its record (call:{sid}:held) waits this long for it: a record spooled by
# another replica reaches Redis when that replica can reach it, at its next start at latest.
HELD_UPDATE_TTL_S = 8 * 24 * 3600


# Scheduled duties (callguard.services.duties). A due event's marker outlives the event.
JOB_RUN_TTL_S = 8 * 24 * 3600


class Keys:
    """Every key name of one office, each under its prefix (``CALLGUARD_REDIS_KEY_PREFIX``).

    Built once, by ``callguard.bootstrap``, and handed to every store; nothing else builds a
    key name. Lua scripts get theirs from here too (``lua_families``), never a literal.
    """

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = check_prefix(prefix)
        self.PEOPLE = self.prefix + "people"
        self.STRATEGIES = self.prefix + "strategies"
        self.CALLS = self.prefix + "calls"
        self.LIVE_CALLS = self.prefix + "calls:live"
        self.HELD_CALLS = self.prefix + "calls:held"
        self.MESSAGES = self.prefix + "messages"
        self.REPEAT_CALLERS = self.prefix + "repeat-callers"
        self.AUDIT = self.prefix + "audit"
        self.USERS = self.prefix + "users"
        self.NOTES = self.prefix + "notes"
        self.LEGAL_HOLDS = self.prefix + "holds"
        self.DISPOSALS = self.prefix + "disposals"
        self.OVERDUE_REVIEWS = self.prefix + "overdue-reviews"
        self.SCHEMA = self.prefix + "schema"

    def __repr__(self) -> str:
        return f"Keys({self.prefix!r})"

    def person(self, person_id: str) -> str:
        return f"{self.prefix}person:{person_id}"

    def phone_owner(self, e164: str) -> str:
        return f"{self.prefix}phone:{e164}"

    def advocate(self, e164: str) -> str:
        return f"{self.prefix}advocate:{e164}"

    def strategy(self, strategy_id: str) -> str:
        return f"{self.prefix}strategy:{strategy_id}"

    def quota(self, strategy_id: str) -> str:
        return f"{self.prefix}quota:{strategy_id}"

    def call(self, call_sid: str) -> str:
        return f"{self.prefix}call:{call_sid}"

    def call_warnings(self, call_sid: str) -> str:
        return f"{self.prefix}call:{call_sid}:warnings"

    def call_warnings_playing(self, call_sid: str) -> str:
        """How many warnings logged on the call are still being played (ADD_WARNING)."""
        return f"{self.prefix}call:{call_sid}:playing"

    def call_held(self, call_sid: str) -> str:
        return f"{self.prefix}call:{call_sid}:held"

    def calls_by_person(self, person_id: str) -> str:
        return f"{self.prefix}calls:person:{person_id}"

    def calls_by_outcome(self, outcome: str) -> str:
        return f"{self.prefix}calls:outcome:{outcome}"

    def breaches(self, strategy_id: str) -> str:
        return f"{self.prefix}breaches:{strategy_id}"

    def repeat_counter(self, e164: str, local_day: str) -> str:
        return f"{self.prefix}repeat:{e164}:{local_day}"

    def audit_person(self, person_id: str) -> str:
        return f"{self.prefix}audit:person:{person_id}"

    def user(self, name: str) -> str:
        return f"{self.prefix}user:{name}"

    def token(self, token_hash: str) -> str:
        return f"{self.prefix}token:{token_hash}"

    def note(self, note_id: str) -> str:
        return f"{self.prefix}note:{note_id}"

    def notes_by_author(self, name: str) -> str:
        return f"{self.prefix}notes:author:{name}"

    def notes_by_person(self, person_id: str) -> str:
        return f"{self.prefix}notes:person:{person_id}"

    def notification(self, notification_id: str) -> str:
        return f"{self.prefix}notification:{notification_id}"

    def notifications_of(self, user_name: str) -> str:
        return f"{self.prefix}notifications:{user_name}"

    def welfare_counts(self, week: str) -> str:
        return f"{self.prefix}welfare:{week}"

    def welfare_calls(self, week: str, name: str) -> str:
        return f"{self.prefix}welfare:{week}:calls:{name}"

    def welfare_alerts(self, week: str) -> str:
        return f"{self.prefix}welfare:{week}:alerts"

    def password(self, name: str) -> str:
        return f"{self.prefix}user:{name}:password"

    def session(self, session_hash: str) -> str:
        return f"{self.prefix}session:{session_hash}"

    def login_failures(self, name: str) -> str:
        return f"{self.prefix}login-failures:{name}"

    def job_lock(self, job: str) -> str:
        return f"{self.prefix}lock:{job}"

    def job_run(self, job: str, period: str) -> str:
        return f"{self.prefix}job:{job}:{period}"

    def once(self, event: str) -> str:
        return f"{self.prefix}once:{event}"

    def legal_hold(self, kind: str, target_id: str) -> str:
        return f"{self.prefix}hold:{kind}:{target_id}"

    def oversight_report(self, quarter: str) -> str:
        return f"{self.prefix}report:oversight:{quarter}"

    def demo_loaded(self) -> str:
        """Set once ``callguard demo`` has loaded its people and strategies."""
        return f"{self.prefix}demo:loaded"

    def appeal(self, appeal_id: str) -> str:
        return f"{self.prefix}appeal:{appeal_id}"

    def kept_refusal(self, phone: str) -> str:
        return f"{self.prefix}refusal:{phone}"

    def appeals_of_strategy(self, strategy_id: str) -> str:
        return f"{self.prefix}appeals:strategy:{strategy_id}"

    @property
    def APPEALS(self) -> str:
        return self.prefix + "appeals"

    def lua_families(self) -> dict[str, str]:
        """The start of each key family the Lua scripts build from an id they find as they
        run (a person's strategies from the phone, say): the builder above with the id left
        empty, so a family renamed here is renamed in every script."""
        return {
            "person": self.person(""),
            "strategy": self.strategy(""),
            "quota": self.quota(""),
            "calls_by_person": self.calls_by_person(""),
            "calls_by_outcome": self.calls_by_outcome(""),
            "breaches": self.breaches(""),
            "audit_person": self.audit_person(""),
            "live_calls": self.LIVE_CALLS,
            "audit": self.AUDIT,
            "session": self.session(""),
            "user": self.user(""),
        }

    def legacy_strategy_screen(self, strategy_id: str) -> str:
        """Layout 1's separate screening copy of a strategy: only deleted, by the migration
        to layout 2 (callguard/store/migrate.py)."""
        return f"{self.prefix}strategy:{strategy_id}:screen"

    @property
    def TOKENS(self) -> str:
        return f"{self.prefix}token:ids"  # beside token:{sha256}; never 64 hex digits

    @property
    def TOKENS_USED(self) -> str:
        return f"{self.prefix}token:last-used"

    def user_sessions(self, name: str) -> str:
        return f"{self.prefix}sessions:user:{name}"

    def subject_access(self, request_id: str) -> str:
        return f"{self.prefix}subject-access:{request_id}"

    def subject_access_all(self) -> str:
        return f"{self.prefix}subject-access"

    def subject_access_of(self, person_id: str) -> str:
        return f"{self.prefix}subject-access:person:{person_id}"

    def recordings_to_delete(self) -> str:
        return f"{self.prefix}recordings:to-delete"
