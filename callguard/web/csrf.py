"""Cross-site request forgery: every form carries a token, every unsafe request is checked.

A signed-in page's forms carry the session's token (``csrf_token``); the page's own
JavaScript sends it as ``X-CSRF-Token``. The sign-in form, before any session exists, uses
a double-submit cookie: a random value in a ``SameSite=Strict`` cookie that must come back
in the form. A request without the right token gets 403 and changes nothing. The cookies'
``SameSite=Strict`` is a second, independent guard.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRejected(Exception):
    """The request's CSRF token was missing or wrong (shown as a 403 page)."""


def same(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


def check(request: web.Request, expected: str, form_value: str | None) -> None:
    given = request.headers.get(HEADER) or form_value
    if not same(expected, given):
        raise CsrfRejected()


def new_token() -> str:
    return secrets.token_urlsafe(32)
