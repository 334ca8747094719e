"""Legal holds, the disposal log and the quarterly oversight report (manager and above)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from callguard.domain.duties import Quarter, local_day
from callguard.domain.retention import Disposal, LegalHold, LegalHoldIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services.reports import OversightReport, report_csv
from callguard.web.api import ApiRoutes, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class LegalHolds(BaseModel):
    items: list[LegalHold]
    # How many holds were left out because another version of CallGuard saved them.
    unreadable: int = 0


@routes.route(
    "POST",
    "/api/v1/legal-holds",
    role=Role.manager,
    summary="Place a legal hold",
    body=LegalHoldIn,
    response=LegalHold,
    status=201,
)
async def place_legal_hold(request: web.Request, actor: Actor, body: LegalHoldIn) -> web.Response:
    """Keep a call, a person's calls and file notes, or a file note past retention. An
    unknown target is 422 on ``id`` (the body names it, not the path); a second hold 409."""
    services = request.app[SERVICES]
    hold = await services.duties.holds.place(body, actor, services.clock.now())
    return json_response(hold, 201)


@routes.route(
    "DELETE",
    "/api/v1/legal-holds",
    role=Role.manager,
    summary="Lift a legal hold",
    body=LegalHoldIn,
    response=LegalHold,
)
async def lift_legal_hold(request: web.Request, actor: Actor, body: LegalHoldIn) -> web.Response:
    """``reason`` says why it is lifted (audited); the record is then due to go at the next
    run. 422 on ``id`` when it is not on hold."""
    services = request.app[SERVICES]
    return json_response(await services.duties.holds.lift(body, actor, services.clock.now()))


@routes.route(
    "GET",
    "/api/v1/legal-holds",
    role=Role.manager,
    summary="List legal holds",
    response=LegalHolds,
)
async def list_legal_holds(request: web.Request, actor: Actor) -> web.Response:
    holds = await request.app[SERVICES].duties.holds.all()
    return json_response(LegalHolds(items=holds, unreadable=len(holds.left_out)))


class DisposalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=1000)


class Disposals(BaseModel):
    items: list[Disposal]


@routes.route(
    "GET",
    "/api/v1/disposals",
    role=Role.manager,
    summary="Read the disposal log",
    query=DisposalQuery,
    response=Disposals,
)
async def list_disposals(request: web.Request, actor: Actor, query: DisposalQuery) -> web.Response:
    """What retention deleted: kind of record, how many, when, by which rule. Newest first."""
    items = await request.app[SERVICES].duties.retention.disposals(query.limit)
    return json_response(Disposals(items=items))


class QuarterQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quarter: str | None = Field(default=None, description="e.g. 2026-Q4; default: this one")

    @field_validator("quarter")
    @classmethod
    def _quarter_form(cls, value: str | None) -> str | None:
        if value is not None:
            Quarter.parse(value)
        return value


async def _report(request: web.Request, query: QuarterQuery) -> OversightReport:
    services = request.app[SERVICES]
    now = services.clock.now()
    quarter = (
        Quarter.parse(query.quarter) if query.quarter else Quarter.of(local_day(now, services.tz))
    )
    return await services.duties.reports.report(quarter, now)


@routes.route(
    "GET",
    "/api/v1/reports/oversight",
    role=Role.manager,
    summary="Read the quarterly oversight report",
    query=QuarterQuery,
    response=OversightReport,
)
async def oversight_report(request: web.Request, actor: Actor, query: QuarterQuery) -> web.Response:
    """Counts of every restriction in a quarter; no personal data."""
    return json_response(await _report(request, query))


@routes.route(
    "GET",
    "/api/v1/reports/oversight.csv",
    role=Role.manager,
    summary="Download the quarterly oversight report as CSV",
    query=QuarterQuery,
    content_type="text/csv",
)
async def oversight_report_csv(
    request: web.Request, actor: Actor, query: QuarterQuery
) -> web.Response:
    report = await _report(request, query)
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="oversight-{report.quarter}.csv"'},
    )
