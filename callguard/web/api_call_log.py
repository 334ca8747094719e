"""The call log (§6.5), breaches (§3.11), messages to triage (§3.10) and the preview."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from callguard.domain.caller_match import Decision
from callguard.domain.dates import InputDateTime
from callguard.domain.fields import Phone
from callguard.domain.records import CallMessage, CallRecord, TriageOutcome
from callguard.domain.roles import Role, has_at_least
from callguard.domain.users import Actor
from callguard.phones import mask_phone
from callguard.services.call_log import CallPage
from callguard.web.api import ApiRoutes, Offset, PagedLeavingOut, QueryDatetime, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class CallQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: str | None = Field(default=None, max_length=64)
    outcome: Literal["connect", "divert_spoc", "refuse"] | None = None
    since: QueryDatetime | None = None
    until: QueryDatetime | None = None
    offset: Offset = 0
    limit: int = Field(default=50, ge=1, le=500)


CallsPage = PagedLeavingOut[CallRecord]


async def query_calls(
    request: web.Request,
    query: CallQuery,
    actor: Actor,
    action: Literal["call_log.read", "call_log.csv"] = "call_log.read",
) -> CallPage:
    """The calls a query selects: the API's list and CSV, and the pages' call log; each
    read audited (CONTRACT §7)."""
    return await request.app[SERVICES].call_log.read_calls(
        actor,
        action,
        person_id=query.person_id,
        outcome=query.outcome,
        since=query.since,
        until=query.until,
        offset=query.offset,
        limit=query.limit,
    )


def calls_page(page: CallPage, query: CallQuery) -> CallsPage:
    return CallsPage(
        items=page.records,
        total=page.total,
        left_out=len(page.left_out),
        offset=query.offset,
        limit=query.limit,
    )


@routes.route(
    "GET",
    "/api/v1/calls",
    role=Role.manager,
    summary="List calls",
    query=CallQuery,
    response=CallsPage,
)
async def list_calls(request: web.Request, actor: Actor, query: CallQuery) -> web.Response:
    return json_response(calls_page(await query_calls(request, query, actor), query))


CSV_COLUMNS = (
    "call_sid",
    "received_at",
    "from",
    "to",
    "person_id",
    "strategy_ids",
    "outcome",
    "rule",
    "route_to",
    "recorded",
    "next_permitted_at",
    "degraded",
    "status",
    "warnings",
    "ended_reason",
    "file_note_id",
    "message",
    "refused_by",
)


# Added after the fields above (so a reader of the earlier columns is not disturbed).
CSV_PERSON_NAME = "person_name"


async def person_names(request: web.Request) -> dict[str, str]:
    """Person id -> name, for the CSV's ``person_name``."""
    people, _ = await request.app[SERVICES].register.store.list_people(0, 100_000)
    return {p.id: p.name for p in people}


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a caller-controlled field must never start a formula.
    if text[:1] in ("=", "@", "\t", "\r") or (
        text[:1] in ("+", "-") and not text[1:].replace(".", "").isdigit()
    ):
        return "'" + text
    return text


def csv_row(record: CallRecord) -> list[str]:
    values: dict[str, Any] = record.model_dump(mode="json", by_alias=True)
    values["strategy_ids"] = ";".join(record.strategy_ids)
    values["refused_by"] = ";".join(record.refused_by)
    values["warnings"] = len(record.warnings)
    values["ended_reason"] = record.ended.reason if record.ended else ""
    values["message"] = "yes" if record.message else "no"
    return [csv_cell(values[c]) for c in CSV_COLUMNS]


@routes.route(
    "GET",
    "/api/v1/calls.csv",
    role=Role.manager,
    summary="Download calls as CSV",
    query=CallQuery,
    content_type="text/csv",
)
async def calls_csv(request: web.Request, actor: Actor, query: CallQuery) -> web.Response:
    records = (await query_calls(request, query, actor, "call_log.csv")).records
    names = await person_names(request) if any(r.person_id for r in records) else {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, CSV_PERSON_NAME])
    writer.writerows([*csv_row(r), csv_cell(names.get(r.person_id or "", ""))] for r in records)
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@routes.route(
    "GET",
    "/api/v1/calls/{call_sid}",
    role=Role.manager,
    summary="Read a call record",
    response=CallRecord,
)
async def get_call(request: web.Request, actor: Actor) -> web.Response:
    record = await request.app[SERVICES].call_log.read_call(actor, request.match_info["call_sid"])
    return json_response(record)


@routes.route(
    "GET",
    "/api/v1/strategies/{strategy_id}/breaches",
    role=Role.manager,
    summary="List calls refused under a strategy",
    query=CallQuery,
    response=CallsPage,
)
async def strategy_breaches(request: web.Request, actor: Actor, query: CallQuery) -> web.Response:
    services = request.app[SERVICES]
    strategy = await services.register.strategy(request.match_info["strategy_id"])
    page = await services.call_log.read_breaches(
        actor,
        strategy.id,
        since=query.since,
        until=query.until,
        offset=query.offset,
        limit=query.limit,
    )
    return json_response(calls_page(page, query))


class MessageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: Offset = 0
    limit: int = Field(default=50, ge=1, le=500)


class CallerMessage(BaseModel):
    """A caller's message as staff see it (CONTRACT §5): the caller's number masked
    (``+44*******123``), and no person id, strategies or route. Managers and above get
    the whole call record."""

    model_config = ConfigDict(populate_by_name=True)
    call_sid: str
    from_: str = Field(alias="from")
    received_at: datetime
    outcome: Literal["connect", "divert_spoc", "refuse"]
    new_matter_claimed: bool
    message: CallMessage

    @classmethod
    def of(cls, record: CallRecord) -> CallerMessage:
        assert record.message is not None
        return cls(
            call_sid=record.call_sid,
            from_=mask_phone(record.from_),
            received_at=record.received_at,
            outcome=record.outcome,
            new_matter_claimed=record.new_matter_claimed,
            message=record.message,
        )


def for_actor(actor: Actor, record: CallRecord) -> CallRecord | CallerMessage:
    """The whole record for managers and above; what staff may see, for staff."""
    if has_at_least(actor.role, Role.manager) or record.message is None:
        return record
    return CallerMessage.of(record)


MessagesPage = PagedLeavingOut[CallRecord | CallerMessage]


class TriageResult(RootModel[CallRecord | CallerMessage]):
    """The triaged message: the whole record (manager and above) or as staff see it."""


@routes.route(
    "GET",
    "/api/v1/messages",
    role=Role.staff,
    summary="List caller messages awaiting triage",
    query=MessageQuery,
    response=MessagesPage,
)
async def list_messages(request: web.Request, actor: Actor, query: MessageQuery) -> web.Response:
    """Staff see each caller's number masked and no person id, strategy or route."""
    page = await request.app[SERVICES].call_log.messages(offset=query.offset, limit=query.limit)
    return json_response(
        MessagesPage(
            items=[for_actor(actor, r) for r in page.records],
            total=page.total,
            left_out=len(page.left_out),
            offset=query.offset,
            limit=query.limit,
        )
    )


TRIAGE_NOTES_MAX = 4000


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: TriageOutcome
    notes: str = Field(default="", max_length=TRIAGE_NOTES_MAX)


@routes.route(
    "POST",
    "/api/v1/calls/{call_sid}/message/triage",
    role=Role.staff,
    summary="Triage a caller's message",
    body=TriageIn,
    response=TriageResult,
)
async def triage_message(request: web.Request, actor: Actor, body: TriageIn) -> web.Response:
    """Record what a message turned out to be (§3.10: genuine complaints, criminal matters,
    safeguarding); it leaves the list to triage. Staff get the message as they see it in
    the list; managers and above the whole record."""
    triaged = await request.app[SERVICES].call_log.triage(
        request.match_info["call_sid"], body.outcome, body.notes, actor.name
    )
    return json_response(TriageResult(for_actor(actor, triaged)))


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: Phone
    at: InputDateTime


class Preview(BaseModel):
    decision: Decision
    caller_hears: list[str]


@routes.route(
    "POST",
    "/api/v1/preview",
    role=Role.manager,
    summary="Preview what would happen to a call",
    body=PreviewIn,
    response=Preview,
)
async def preview(request: web.Request, actor: Actor, body: PreviewIn) -> web.Response:
    """What would happen if this number called at ``at``: no record, no count, no call."""
    decision, hears = await request.app[SERVICES].screening.preview(body.phone, body.at)
    return json_response(Preview(decision=decision, caller_hears=hears))


class RepeatCaller(BaseModel):
    phone: str
    crossed_at: datetime


class RepeatCallers(BaseModel):
    items: list[RepeatCaller]


@routes.route(
    "GET",
    "/api/v1/repeat-callers",
    role=Role.manager,
    summary="List unrestricted callers over the daily threshold",
    response=RepeatCallers,
)
async def repeat_callers(request: web.Request, actor: Actor) -> web.Response:
    """§5.3: surfaced for a human decision; nothing is restricted automatically."""
    rows = await request.app[SERVICES].call_log.repeat_callers(500)
    items = [RepeatCaller(phone=phone, crossed_at=at) for phone, at in rows]
    return json_response(RepeatCallers(items=items))
