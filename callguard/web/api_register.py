"""People and contact strategies (CONTRACT §4)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.models import (
    EndIn,
    NotifiedIn,
    Person,
    PersonIn,
    PersonPatch,
    ReviewIn,
    RevisionIn,
    ShareIn,
    Strategy,
    StrategyIn,
)
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services import people
from callguard.web.api import ApiRoutes, Offset, Paged, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: Offset = 0
    limit: int = Field(default=50, ge=1, le=500)


class StrategyQuery(Page):
    person_id: str | None = Field(default=None, max_length=64)
    status: Literal["active", "ended", "lapsed", "awaiting_notice"] | None = None


PeoplePage = Paged[Person]
StrategiesPage = Paged[Strategy]


@routes.route(
    "POST",
    "/api/v1/people",
    role=Role.manager,
    summary="Create a person",
    body=PersonIn,
    response=Person,
    status=201,
)
async def create_person(request: web.Request, actor: Actor, body: PersonIn) -> web.Response:
    services = request.app[SERVICES]
    person = await services.register.create_person(body, actor, services.clock.now())
    return json_response(person, 201)


@routes.route(
    "GET",
    "/api/v1/people",
    role=Role.manager,
    summary="List people",
    query=Page,
    response=PeoplePage,
)
async def list_people(request: web.Request, actor: Actor, query: Page) -> web.Response:
    services = request.app[SERVICES]
    people, total = await services.register.store.list_people(query.offset, query.limit)
    # A list holds whole records: a read of each person it shows (CONTRACT §7).
    await services.read_audit.record(
        actor,
        services.clock.now(),
        "person.list",
        "people",
        [p.id for p in people],
        f"{len(people)} people from {query.offset + 1}",
    )
    return json_response(
        PeoplePage(items=people, total=total, offset=query.offset, limit=query.limit)
    )


@routes.route(
    "PATCH",
    "/api/v1/people/{person_id}",
    role=Role.manager,
    summary="Change a person's details",
    body=PersonPatch,
    response=Person,
)
async def update_person(request: web.Request, actor: Actor, body: PersonPatch) -> web.Response:
    """Only the fields sent change; each list sent (phones, emails, reasonable adjustments)
    replaces the one held. Audited. 422 when the change would break an active strategy."""
    services = request.app[SERVICES]
    person = await people.update_person(
        services.register,
        request.match_info["person_id"],
        body,
        actor,
        services.clock.now(),
    )
    return json_response(person)


@routes.route(
    "GET", "/api/v1/people/{person_id}", role=Role.manager, summary="Read a person", response=Person
)
async def get_person(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    person = await services.register.person(
        request.match_info["person_id"], actor, services.clock.now()
    )
    return json_response(person)


@routes.route(
    "POST",
    "/api/v1/strategies",
    role=Role.manager,
    summary="Create a strategy",
    body=StrategyIn,
    response=Strategy,
    status=201,
)
async def create_strategy(request: web.Request, actor: Actor, body: StrategyIn) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.create_strategy(body, actor, services.clock.now())
    return json_response(strategy, 201)


@routes.route(
    "GET",
    "/api/v1/strategies",
    role=Role.manager,
    summary="List strategies",
    query=StrategyQuery,
    response=StrategiesPage,
)
async def list_strategies(request: web.Request, actor: Actor, query: StrategyQuery) -> web.Response:
    store = request.app[SERVICES].register.store
    if query.person_id:
        items = await store.strategies_of(query.person_id)
        total = len(items)
    else:
        items, total = await store.list_strategies(0, 100_000)
    if query.status:
        items = [s for s in items if s.status.value == query.status]
    total = len(items)
    page = items[query.offset : query.offset + query.limit]
    services = request.app[SERVICES]
    await services.read_audit.record(
        actor,
        services.clock.now(),
        "strategy.list",
        "strategies",
        [s.person_id for s in page],
        f"{len(page)} strategies from {query.offset + 1}",
    )
    return json_response(
        StrategiesPage(items=page, total=total, offset=query.offset, limit=query.limit)
    )


@routes.route(
    "GET",
    "/api/v1/strategies/{strategy_id}",
    role=Role.manager,
    summary="Read a strategy with its revision history",
    response=Strategy,
)
async def get_strategy(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.read_strategy(
        request.match_info["strategy_id"], actor, services.clock.now()
    )
    return json_response(strategy)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/revisions",
    role=Role.manager,
    summary="Revise a strategy",
    body=RevisionIn,
    response=Strategy,
    status=201,
)
async def revise_strategy(request: web.Request, actor: Actor, body: RevisionIn) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.revise(
        request.match_info["strategy_id"], body, actor, services.clock.now()
    )
    return json_response(strategy, 201)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/reviews",
    role=Role.manager,
    summary="Record a review of a strategy",
    body=ReviewIn,
    response=Strategy,
    status=201,
)
async def review_strategy(request: web.Request, actor: Actor, body: ReviewIn) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.review(
        request.match_info["strategy_id"], body, actor, services.clock.now()
    )
    return json_response(strategy, 201)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/end",
    role=Role.manager,
    summary="End a strategy",
    body=EndIn,
    response=Strategy,
)
async def end_strategy(request: web.Request, actor: Actor, body: EndIn) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.end(
        request.match_info["strategy_id"], body, actor, services.clock.now()
    )
    return json_response(strategy)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/versions/{version}/notified",
    role=Role.manager,
    summary="Record when the person was told of a version",
    body=NotifiedIn,
    response=Strategy,
)
async def record_notified(request: web.Request, actor: Actor, body: NotifiedIn) -> web.Response:
    services = request.app[SERVICES]
    try:
        version = int(request.match_info["version"])
    except ValueError:
        raise web.HTTPNotFound() from None
    strategy = await services.register.record_notified(
        request.match_info["strategy_id"], version, body, actor, services.clock.now()
    )
    return json_response(strategy)


@routes.route(
    "POST",
    "/api/v1/strategies/{strategy_id}/shares",
    role=Role.manager,
    summary="Record sharing a strategy with a partner",
    body=ShareIn,
    response=Strategy,
    status=201,
)
async def share_strategy(request: web.Request, actor: Actor, body: ShareIn) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.share(
        request.match_info["strategy_id"], body, actor, services.clock.now()
    )
    return json_response(strategy, 201)
