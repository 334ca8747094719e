"""Error mapping and security headers for every response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from callguard.services.errors import Invalid, ServiceError
from callguard.web.api import json_response

log = logging.getLogger("callguard.web")

HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
    """Failures become clear JSON; never a traceback, never a 5xx for bad input."""
    try:
        return await handler(request)
    except ServiceError as error:
        body: dict[str, object] = {"error": error.code, "message": error.message}
        if isinstance(error, Invalid):
            body["fields"] = [{"field": f, "reason": r} for f, r in error.problems]
        return json_response(body, error.status)
    except web.HTTPException as http:
        if (
            http.status == 404
            and request.method in ("GET", "HEAD")
            and not request.path.startswith(("/api/", "/webhooks/"))
        ):
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
    except (RedisError, TimeoutError):
        log.exception("store unavailable on %s %s", request.method, request.path)
        return json_response(
            {"error": "unavailable", "message": "the store is unavailable; try again shortly"}, 503
        )
    except Exception:
        log.exception("unexpected failure on %s %s", request.method, request.path)
        return json_response({"error": "internal", "message": "unexpected failure"}, 500)


async def not_found_page(request: web.Request) -> web.StreamResponse:
    """A browser's unknown page: "Page not found" in the site's layout (the API answers JSON)."""
    from callguard.web.pages.framework import error_page
    from callguard.web.sessions import WEB_AUTH, web_auth

    if WEB_AUTH not in request.app:  # an app without the pages
        raise web.HTTPNotFound()
    session, _ = await web_auth(request).current(request)
    return error_page(
        request,
        404,
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, "
        "check you copied the entire address.",
        session,
    )


@web.middleware
async def security_headers(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
    )
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
