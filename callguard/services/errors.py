"""Failures a use case reports; the web layer maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

# What the store raises when Redis is down or slow: the web layer answers 503 for these
# (and the webhooks fail open), without knowing that the store is Redis.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, TimeoutError)


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
