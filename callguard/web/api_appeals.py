"""Letters as PDF and appeals (CONTRACT §7)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.appeals import Appeal, AppealDeciderIn, AppealDecisionIn, AppealIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services.letters import RenderedLetter
from callguard.web.api import ApiRoutes, Offset, PagedSayingUnreadable, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()

AppealsPage = PagedSayingUnreadable[Appeal]


class AppealQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategy_id: str | None = Field(default=None, max_length=64)
    status: Literal["awaiting_decision", "decided"] | None = None
    offset: Offset = 0
    limit: int = Field(default=50, ge=1, le=500)


def version_of(request: web.Request) -> int:
    text = request.match_info["version"]
    if not text.isdigit() or len(text) > 6:
        raise web.HTTPNotFound()
    return int(text)


async def pdf_response(request: web.Request, letter: RenderedLetter) -> web.Response:
    pdf = await request.app[SERVICES].letters.pdf(letter)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{letter.filename}"',
            "Cache-Control": "no-store",
        },
    )


@routes.route(
    "GET",
    "/api/v1/strategies/{strategy_id}/versions/{version}/letter",
    role=Role.manager,
    summary="The letter telling the person of a version, as PDF",
    content_type="application/pdf",
)
async def version_letter(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    letter = await services.letters.for_version(
        request.match_info["strategy_id"], version_of(request), actor, services.clock.now()
    )
    return await pdf_response(request, letter)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/appeals",
    role=Role.manager,
    summary="Record an appeal against a strategy",
    body=AppealIn,
    response=Appeal,
    status=201,
)
async def record_appeal(request: web.Request, actor: Actor, body: AppealIn) -> web.Response:
    services = request.app[SERVICES]
    appeal = await services.appeals.record(
        request.match_info["strategy_id"], body, actor, services.clock.now()
    )
    return json_response(appeal, 201)


@routes.route(
    "GET",
    "/api/v1/appeals",
    role=Role.manager,
    summary="List appeals",
    query=AppealQuery,
    response=AppealsPage,
)
async def list_appeals(request: web.Request, actor: Actor, query: AppealQuery) -> web.Response:
    listed = await request.app[SERVICES].appeals.all()
    appeals: list[Appeal] = listed
    if query.strategy_id:
        appeals = [a for a in appeals if a.strategy_id == query.strategy_id]
    if query.status:
        appeals = [a for a in appeals if a.status.value == query.status]
    page = appeals[query.offset : query.offset + query.limit]
    services = request.app[SERVICES]
    await services.read_audit.record(
        actor,
        services.clock.now(),
        "appeal.list",
        "appeals",
        [a.person_id for a in page],
        f"{len(page)} appeals from {query.offset + 1}",
    )
    return json_response(
        AppealsPage(
            items=page,
            total=len(appeals),
            offset=query.offset,
            limit=query.limit,
            unreadable=len(listed.left_out),
        )
    )


@routes.route(
    "GET",
    "/api/v1/appeals/{appeal_id}",
    role=Role.manager,
    summary="Read an appeal",
    response=Appeal,
)
async def get_appeal(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    appeal = await services.appeals.get(request.match_info["appeal_id"])
    await services.read_audit.record(
        actor, services.clock.now(), "appeal.read", appeal.id, [appeal.person_id]
    )
    return json_response(appeal)


@routes.route(
    "POST",
    "/api/v1/appeals/{appeal_id}/decision",
    role=Role.manager,
    summary="Decide an appeal",
    body=AppealDecisionIn,
    response=Appeal,
)
async def decide_appeal(request: web.Request, actor: Actor, body: AppealDecisionIn) -> web.Response:
    services = request.app[SERVICES]
    appeal = await services.appeals.decide(
        request.match_info["appeal_id"], body, actor, services.clock.now()
    )
    return json_response(appeal)


@routes.route(
    "POST",
    "/api/v1/appeals/{appeal_id}/decider",
    role=Role.manager,
    summary="Name another decider for an appeal not yet decided",
    body=AppealDeciderIn,
    response=Appeal,
)
async def reassign_appeal(
    request: web.Request, actor: Actor, body: AppealDeciderIn
) -> web.Response:
    services = request.app[SERVICES]
    appeal = await services.appeals.reassign(
        request.match_info["appeal_id"], body, actor, services.clock.now()
    )
    return json_response(appeal)


@routes.route(
    "GET",
    "/api/v1/appeals/{appeal_id}/letter",
    role=Role.manager,
    summary="The appeal's outcome letter, as PDF",
    content_type="application/pdf",
)
async def appeal_letter(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    letter = await services.letters.for_appeal(
        request.match_info["appeal_id"], actor, services.clock.now()
    )
    return await pdf_response(request, letter)
