"""Live call controls (§6.4–6.5) and the caller alert (CONTRACT §4). See
``callguard.services.controls`` for what a warning and an end do on the phone system."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services.controls import CallEnded, CallerAlert, WarningGiven
from callguard.web.api import ApiRoutes, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class ReasonIn(BaseModel):
    """A reason code from the policy file (§6.3), e.g. ``verbal_abuse`` or ``threats``."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=64)


@routes.route(
    "POST",
    "/api/v1/calls/{call_sid}/warnings",
    role=Role.staff,
    summary="Warn the caller in a live call",
    body=ReasonIn,
    response=WarningGiven,
    status=201,
)
async def warn_caller(request: web.Request, actor: Actor, body: ReasonIn) -> web.Response:
    """Plays the policy's warning script for the reason to the caller, and logs it."""
    services = request.app[SERVICES]
    given = await services.controls.warn(
        request.match_info["call_sid"], body.reason, actor, services.clock.now()
    )
    return json_response(given, status=201)


@routes.route(
    "POST",
    "/api/v1/calls/{call_sid}/end",
    role=Role.staff,
    summary="End a live call",
    body=ReasonIn,
    response=CallEnded,
)
async def end_call(request: web.Request, actor: Actor, body: ReasonIn) -> web.Response:
    """The caller hears the closing statement and the call ends; a draft file note is made
    and the line manager is told."""
    services = request.app[SERVICES]
    ended = await services.controls.end(
        request.match_info["call_sid"], body.reason, actor, services.clock.now()
    )
    return json_response(ended)


@routes.route(
    "GET",
    "/api/v1/calls/{call_sid}/alert",
    role=Role.staff,
    summary="Read the caller alert for a call",
    response=CallerAlert,
)
async def caller_alert(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    alert = await services.controls.alert(
        request.match_info["call_sid"], actor, services.clock.now()
    )
    return json_response(alert)
