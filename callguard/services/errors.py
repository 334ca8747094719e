"""Failures a use case reports; the web layer maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import DataError, RedisClusterException, RedisError, ResponseError

from callguard.store.readable import Unreadable as Unreadable  # the web layer's, too

# What the store raises when Redis is down or slow: the web layer answers 503 for these
# (and the webhooks fail open), without knowing that the store is Redis.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, TimeoutError)

# Errors Redis answers with while it cannot write for now (out of memory, loading, busy
# with a script, a replica or a cluster not ready, disk errors, not allowed yet): a command
# it refused for one of these may succeed later. redis-py gives some of these classes of
# their own, and every error the code Redis sent (``status_code``), in a script's too.
_NOT_YET = frozenset(
    "BUSY CLUSTERDOWN LOADING MASTERDOWN MISCONF NOAUTH NOPERM NOREPLICAS OOM READONLY "  # noqa: SIM905
    "TRYAGAIN UNBLOCKED".split()
)
# A script's plain errors that a cluster gives while a slot moves, or while it is down and
# serving reads only.
_CLUSTER_NOT_YET = (
    "Script attempted to access a non local key in a cluster node",
    "Script attempted to execute a write command while the cluster is down",
)
# What an entry that is not what its reader expects raises (a field missing or of another
# type, text that is not the form it should be): reading it again raises the same.
_MALFORMED: tuple[type[Exception], ...] = (
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    AssertionError,
)


def may_succeed_later(error: BaseException) -> bool:
    """Whether what raised ``error`` may succeed if tried again later: the store was away,
    slow, full or not ready, or the work was stopped. False when the store answered that
    the command itself is wrong (bad arguments, a script's own error), or when the input is
    malformed: trying again changes nothing."""
    if isinstance(error, DataError):
        return False  # an argument the client will not send
    if type(error) is ResponseError:
        return getattr(error, "status_code", None) in _NOT_YET or str(error).startswith(
            _CLUSTER_NOT_YET
        )
    if isinstance(error, (*STORE_UNAVAILABLE, RedisClusterException)):
        return True
    return not isinstance(error, _MALFORMED)


def why_never(error: Exception) -> str:
    """Why work that ``may_succeed_later`` says never will cannot be done, for the log:
    the code Redis refused it with, or what was wrong with its input."""
    if isinstance(error, RedisError):
        return f"Redis refused it ({getattr(error, 'status_code', None) or type(error).__name__})"
    return f"it is not in a form this release can read ({type(error).__name__})"


def unreadable_conflict(error: Unreadable) -> Conflict:
    """The plain answer to a request about a record this release cannot read (``store.
    readable``: a later release wrote it, during a rolling upgrade or after a rollback)."""
    return Conflict(
        f"{_count(len(error.ids), 'record')} this needs "
        f"{'was' if len(error.ids) == 1 else 'were'} written by another version of CallGuard "
        "and cannot be read by this one, so nothing was done. Try again once every part of "
        "the service is on the same version."
    )


def _count(n: int, noun: str) -> str:
    return f"One {noun}" if n == 1 else f"{n} {noun}s"


class ServiceError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class KeptChanging(Conflict):
    """An edit read, checked and tried again and again, each time losing to another change
    written meanwhile: nothing was changed."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} kept being changed by someone else while your change was being saved. "
            "Nothing was changed. Try again."
        )


class StaleVersion(Conflict):
    """A change asked for against a version of a strategy that another change has replaced
    since (``expected_version``): nothing was changed."""

    def __init__(self, strategy_id: str, current: int, expected: int) -> None:
        super().__init__(
            f"strategy {strategy_id} is at version {current}, not {expected}: reload it and "
            "try again"
        )
        self.current = current


class NotActive(Conflict):
    """A change asked of a strategy that has ended (or otherwise stopped applying)."""


class Gone(ServiceError):
    """410: what was asked for was kept once and is no longer (a recording past its time)."""

    status = 410
    code = "gone"


class PhoneSystemFailed(ServiceError):
    """502: the phone system did not give what was asked of it; nothing was changed."""

    status = 502
    code = "phone_system"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Invalid(ServiceError):
    """422: each bad field and why. Nothing has been stored."""

    status = 422
    code = "invalid"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = list(problems)


class BadEncoding(Invalid):
    """400: the body is not valid UTF-8 (or not form encoding); nothing was read from it."""

    status = 400
    code = "bad_encoding"
