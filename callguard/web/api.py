"""A small route registry for the JSON API.

Each endpoint declares its method, path, least role, body model and response model. The
same declaration validates requests (422 naming each field), checks the bearer token
(401) and role (403), and produces the OpenAPI document, so the document cannot drift
from what the routes accept.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from callguard.domain import error_words
from callguard.domain.dates import InputDateTime
from callguard.domain.models import RESTRICTION_KINDS
from callguard.domain.roles import Role, has_at_least
from callguard.domain.users import Actor
from callguard.services.errors import BadEncoding, Forbidden, Invalid, ServiceError
from callguard.web.appkeys import SERVICES

MAX_BODY_BYTES = 256 * 1024
# Paging: beyond this an offset is a mistake, not a page (and Redis wants 64-bit ints).
MAX_OFFSET = 1_000_000


def _iso_text(value: object) -> object:
    """Query timestamps are ISO 8601 text with an offset; pydantic alone would also take
    a bare number as seconds since 1970."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        raise ValueError("must be an ISO 8601 date-time with an offset")
    return value


QueryDatetime = Annotated[InputDateTime, BeforeValidator(_iso_text)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]

Item = TypeVar("Item")


class Paged(BaseModel, Generic[Item]):
    """One page of a list: the items, how many there are in all, and where this page is."""

    items: list[Item]
    total: int
    offset: int
    limit: int


class PagedLeavingOut(Paged[Item], Generic[Item]):
    """One page of a list whose items a later version of CallGuard may have written (during
    a rolling upgrade, or after a rollback): those this version cannot read are left out of
    ``items`` and logged, and ``left_out`` says how many; ``total`` still counts them."""

    left_out: int = 0


class PagedSayingUnreadable(Paged[Item], Generic[Item]):
    """One page of a list read whole (file notes, appeals), whose records a later version
    of CallGuard may have written: those this version cannot read are logged and left out,
    and ``unreadable`` says how many of this kind there are. They cannot be filtered or
    paged, so ``unreadable`` counts them whatever the filters, and ``total`` does not."""

    unreadable: int = 0


Handler = Callable[..., Awaitable[web.StreamResponse]]


class Unauthorised(ServiceError):
    status = 401
    code = "unauthorised"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    name: str
    role: Role
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    # Roles other than those ranked at or above ``role`` that may also call it.
    also: tuple[Role, ...] = ()


@dataclass
class ApiRoutes:
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        role: Role,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        content_type: str = "application/json",
        also: tuple[Role, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler.__name__,
                    role,
                    handler,
                    summary,
                    body,
                    query,
                    response,
                    status,
                    content_type,
                    also,
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(
                endpoint.method, endpoint.path, _wrap(endpoint), name=endpoint.name
            )


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the client wrote the field.

    ``("restrictions", 0, "call_windows", "windows", 0, "end")`` becomes
    ``restrictions[0].windows[0].end``.

    The discriminator tag pydantic adds after a list index is dropped: callers never wrote it.
    A name longer than any field's (one sent that is not a field) is cut short.
    """
    out = ""
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _UNION_TAGS:
            previous_was_index = False
            continue
        if len(part) > _LONGEST_NAME:
            part = part[:_LONGEST_NAME] + "…"
        out += f".{part}" if out else part
        previous_was_index = False
    return out or "(body)"


_LONGEST_NAME = 64


# pydantic names a discriminated union's member by its tag: a restriction's kind.
_UNION_TAGS = frozenset(RESTRICTION_KINDS)


def invalid_from(error: ValidationError, prefix: tuple[str, ...] = ()) -> Invalid:
    """Each error by its field's path, in words (``domain.error_words``)."""
    problems = []
    for item in error.errors(include_url=False):
        problems.append(
            (field_path(prefix + error_words.where(item)), error_words.reason_for(item))
        )
    return Invalid(problems)


async def authenticate(request: web.Request) -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorised("send Authorization: Bearer TOKEN")
    services = request.app[SERVICES]
    # The user's role of the moment, not the one the token was made with (CONTRACT §5).
    actor = await services.accounts.actor_for_token(token.strip(), services.clock.now())
    if actor is None:
        raise Unauthorised("unknown, revoked or expired token, or its user is disabled")
    return actor


def _allowed(actor: Actor, endpoint: Endpoint) -> bool:
    return has_at_least(actor.role, endpoint.role) or actor.role in endpoint.also


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


async def _json_body(request: web.Request) -> Any:
    too_large = TooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadEncoding([("(body)", "is not valid UTF-8")]) from None
    try:
        return json.loads(text or "null", parse_constant=_not_a_number)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise Invalid([("(body)", f"is not valid JSON ({exc.msg} at {where})")]) from None
    except _NotANumber as exc:
        raise Invalid(
            [("(body)", f"is not valid JSON ({exc} is not a number JSON allows)")]
        ) from None
    except ValueError:
        # Python's limit on converting digits to an integer (4,300 by default).
        limit = sys.get_int_max_str_digits()
        raise Invalid([("(body)", f"has a whole number with more than {limit:,} digits")]) from None
    except RecursionError:
        raise Invalid([("(body)", "nested too deeply")]) from None


class _NotANumber(ValueError):
    pass


def _not_a_number(constant: str) -> object:
    """JSON has no NaN or Infinity (Python's reader would take them)."""
    raise _NotANumber(constant)


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        actor = await authenticate(request)
        if not _allowed(actor, endpoint):
            raise Forbidden(f"the {actor.role.value} role may not {endpoint.summary.lower()}")
        kwargs: dict[str, Any] = {}
        if endpoint.body is not None:
            payload = await _json_body(request)
            try:
                kwargs["body"] = endpoint.body.model_validate(payload)
            except ValidationError as exc:
                raise invalid_from(exc) from None
        if endpoint.query is not None:
            try:
                kwargs["query"] = endpoint.query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise invalid_from(exc) from None
        return await endpoint.handler(request, actor, **kwargs)

    return handle


def json_response(data: Any, status: int = 200) -> web.Response:
    if isinstance(data, BaseModel):
        text = data.model_dump_json(by_alias=True)
    else:
        text = json.dumps(data, default=str)
    return web.Response(text=text, status=status, content_type="application/json")
