"""Error mapping and security headers for every response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from callguard.services.errors import (
    STORE_UNAVAILABLE,
    Invalid,
    ServiceError,
    Unreadable,
    unreadable_conflict,
)
from callguard.web.api import json_response
from callguard.web.appkeys import SERVICES

log = logging.getLogger("callguard.web")

HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Scripts, styles and images from CallGuard only; no framing; forms post only to CallGuard;
# no <base> to redirect relative links.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# Sent when CALLGUARD_PUBLIC_URL is https: browsers then never use plain http for a year.
HSTS = "max-age=31536000"


# Paths that are not pages: they answer JSON (or plain text), and a browser's failure there
# is not shown in the site's layout. (/demo/twilio/ is the demo's stand-in for Twilio.)
NOT_PAGES = ("/api/", "/webhooks/", "/demo/twilio/")
NOT_PAGE = frozenset({"/healthz", "/readyz", "/metrics"})


# Why who is signed in may not be known: their account or the store cannot be read.
SESSION_UNKNOWN: tuple[type[Exception], ...] = (Unreadable, *STORE_UNAVAILABLE)


def is_page(request: web.Request) -> bool:
    """Whether the request is for one of the pages (an app may be built without them)."""
    from callguard.web.sessions import WEB_AUTH

    path = request.path
    return WEB_AUTH in request.app and path not in NOT_PAGE and not path.startswith(NOT_PAGES)


@web.middleware
async def error_middleware(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
    """Failures become a clear answer: JSON for the API, a page in the site's layout for a
    page (one that failed before anyone was known to be signed in, say, reading the session
    while the store is away); never a traceback, never a 5xx for bad input."""
    try:
        try:
            return await handler(request)
        except (web.HTTPException, UnicodeDecodeError):
            raise
        except Exception as error:
            if is_page(request):
                from callguard.web.pages.framework import failure_page

                return await failure_page(request, error, None)
            if isinstance(error, Unreadable):  # a record a later release wrote: a plain 409
                raise unreadable_conflict(error) from error
            raise
    except ServiceError as error:
        body: dict[str, object] = {"error": error.code, "message": error.message}
        if isinstance(error, Invalid):
            body["fields"] = [{"field": f, "reason": r} for f, r in error.problems]
        return json_response(body, error.status)
    except web.HTTPException as http:
        if http.status == 404 and request.method in ("GET", "HEAD") and is_page(request):
            return await not_found_page(request)
        if http.status >= 400 and request.path.startswith("/api/"):
            response = json_response(
                {"error": http.reason.lower().replace(" ", "_"), "message": http.reason},
                http.status,
            )
            if "Allow" in http.headers:  # a 405 says which methods are allowed
                response.headers["Allow"] = http.headers["Allow"]
            return response
        raise
    except UnicodeDecodeError:
        # A form body that is not valid UTF-8 (reading it is the only decoding of input
        # that happens outside the API's own JSON reader, which answers the same).
        return _bad_encoding(request)
    except STORE_UNAVAILABLE:
        log.exception("store unavailable on %s %s", request.method, request.path)
        return json_response(
            {"error": "unavailable", "message": "the store is unavailable; try again shortly"}, 503
        )
    except Exception:
        log.exception("unexpected failure on %s %s", request.method, request.path)
        return json_response({"error": "internal", "message": "unexpected failure"}, 500)


async def not_found_page(request: web.Request) -> web.StreamResponse:
    """A browser's unknown page: "Page not found" in the site's layout (the API answers JSON)."""
    from callguard.web.pages.framework import NOT_FOUND_ADVICE, error_page
    from callguard.web.sessions import WEB_AUTH, web_auth

    if WEB_AUTH not in request.app:  # an app without the pages
        raise web.HTTPNotFound()
    try:
        session, _ = await web_auth(request).current(request)
    except SESSION_UNKNOWN:  # "Page not found" all the same, as to someone signed out
        session = None
    return await error_page(
        request,
        404,
        "Page not found",
        NOT_FOUND_ADVICE,
        session,
    )


def _bad_encoding(request: web.Request) -> web.Response:
    reason = "is not valid UTF-8 form encoding"
    if request.path.startswith("/api/"):
        return json_response(
            {
                "error": "bad_encoding",
                "message": f"(body): {reason}",
                "fields": [{"field": "(body)", "reason": reason}],
            },
            400,
        )
    return web.Response(
        status=400, text="The form could not be read: it is not valid UTF-8. Go back and try again."
    )


@web.middleware
async def security_headers(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    services = request.app.get(SERVICES)
    if services is not None and (services.settings.public_url or "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
