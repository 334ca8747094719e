"""Error mapping and security headers for every response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from callguard.services.errors import STORE_UNAVAILABLE, Invalid, ServiceError
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
        if http.status >= 400 and request.path.startswith("/api/"):
            response = json_response(
                {"error": http.reason.lower().replace(" ", "_"), "message": http.reason},
                http.status,
            )
            if "Allow" in http.headers:  # a 405 says which methods are allowed
                response.headers["Allow"] = http.headers["Allow"]
            return response
        raise
    except STORE_UNAVAILABLE:
        log.exception("store unavailable on %s %s", request.method, request.path)
        return json_response(
            {"error": "unavailable", "message": "the store is unavailable; try again shortly"}, 503
        )
    except Exception:
        log.exception("unexpected failure on %s %s", request.method, request.path)
        return json_response({"error": "internal", "message": "unexpected failure"}, 500)


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
