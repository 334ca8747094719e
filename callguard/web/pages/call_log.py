"""The call log for managers (§6.5): filters, pages, one call, and the CSV download.

The filters are the API's own (``CallQuery``) and so is the query and the CSV (the same
columns, the same protection against spreadsheet formulas): a download here holds the
calls ``GET /api/v1/calls.csv`` would for the same filters, for people to read: headings,
outcomes, rules, statuses and reasons in words, the person's name beside their reference.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.records import CallRecord
from callguard.domain.roles import Role
from callguard.services.call_log import CallPage
from callguard.web.api_call_log import (
    CSV_COLUMNS,
    CSV_PERSON_NAME,
    CallQuery,
    csv_cell,
    csv_row,
    person_names,
    query_calls,
)
from callguard.web.pages import messages
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.typed_dates import DATE_PARTS, date_from_parts, date_parts
from callguard.web.pages.words import (
    CSV_HEADINGS,
    TRIAGE_LABELS,
    call_state_in_words,
    outcome_in_words,
    rule_in_words,
)

pages = Pages()

PAGE_SIZE = 25
OUTCOMES = (
    ("", "Any outcome"),
    ("connect", "Connected"),
    ("divert_spoc", "Put through to the SPOC"),
    ("refuse", "Refused"),
)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def call_query(
    params: dict[str, str], tz: Any, *, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[CallQuery | None, FormErrors]:
    """The API's CallQuery from the page's filters: whole office-local days for the dates."""
    errors = FormErrors()
    since_day = _day(params.get("since", ""))
    until_day = _day(params.get("until", ""))
    if params.get("since") and since_day is None:
        errors.add("since", "Enter a real date, like 15 2 2027")
    if params.get("until") and until_day is None:
        errors.add("until", "Enter a real date, like 15 2 2027")
    if since_day and until_day and until_day < since_day:
        errors.add("until", "The end date must be on or after the start date")
    raw: dict[str, Any] = {"offset": offset, "limit": limit}
    if params.get("person_id"):
        raw["person_id"] = params["person_id"]
    if params.get("outcome"):
        raw["outcome"] = params["outcome"]
    if since_day:
        raw["since"] = datetime.combine(since_day, time(0), tz)
    if until_day:
        raw["until"] = datetime.combine(until_day + timedelta(days=1), time(0), tz) - timedelta(
            microseconds=1
        )
    if errors:
        return None, errors
    try:
        return CallQuery.model_validate(raw), errors
    except ValidationError as error:
        for item in error.errors(include_url=False):
            path = str(item["loc"][0])
            errors.add(path, messages.words_for_error(item, path, "calls"))
        return None, errors


DATE_FILTERS = ("since", "until")


def _filters(context: PageContext) -> dict[str, str]:
    """The person, the outcome and the two dates. A date comes from the filter form as day,
    month and year (``since-day`` and so on), or as ``since=YYYY-MM-DD`` from a link (the
    next page's, the CSV's), which is how the filters travel on."""
    query = context.request.query
    filters = {
        name: query.get(name, "").strip()[:64] for name in ("person_id", "outcome", *DATE_FILTERS)
    }
    for name in DATE_FILTERS:
        typed = date_from_parts(query, name)
        if typed is not None:
            filters[name] = typed[:64]
    return {name: value for name, value in filters.items() if value}


def _date_values(context: PageContext, filters: dict[str, str]) -> dict[str, str]:
    """What the filter form's date inputs show: the day, month and year as typed, else the
    date the address gives."""
    query = context.request.query
    values: dict[str, str] = {}
    for name in DATE_FILTERS:
        typed = {f"{name}-{part}": query.get(f"{name}-{part}", "")[:8] for part in DATE_PARTS}
        day = _day(filters.get(name, ""))
        if any(typed.values()):
            values.update(typed)
        elif day is not None:
            values.update(date_parts(name, day))
    return values


@pages.get("/calls", name="calls", role=Role.manager)
async def call_log(context: PageContext) -> web.StreamResponse:
    services = context.services
    filters = _filters(context)
    raw_page = context.request.query.get("page", "1")
    page_number = max(1, min(int(raw_page), 100_000)) if raw_page.isdigit() else 1
    query, errors = call_query(filters, services.tz, offset=(page_number - 1) * PAGE_SIZE)
    page = CallPage()  # none, until the filters are right
    if query is not None:
        page = await query_calls(context.request, query, context.actor)
        last = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
        if page_number > last:  # past the end (an old link, a typed address): the last page
            page_number = last
            query = query.model_copy(update={"offset": (last - 1) * PAGE_SIZE})
            page = await query_calls(context.request, query, context.actor)
    total = page.total
    people, _ = await services.register.store.list_people(0, 100_000)
    names = {p.id: p.name for p in people}
    pages_total = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)

    def page_href(number: int) -> str:
        return context.url("calls", {**filters, "page": str(number)})

    return await context.render(
        "calls.html",
        {
            "title": "Call log",
            "records": page.records,
            "total": total,
            "left_out": len(page.left_out),
            "filters": filters,
            "date_values": _date_values(context, filters),
            "errors": errors,
            "page_errors": bool(errors),
            "people": sorted(names.items(), key=lambda item: item[1].lower()),
            "names": names,
            "outcomes": OUTCOMES,
            "page_number": page_number,
            "pages_total": pages_total,
            "page_href": page_href,
            "csv_href": context.url("calls-csv") + ("?" + urlencode(filters) if filters else ""),
            "first": (page_number - 1) * PAGE_SIZE + 1,
        },
        status=200 if not errors else 422,
    )


def _csv_words(context: PageContext, record: CallRecord) -> dict[str, str]:
    """The download's codes in words, as the pages show them."""
    reason = record.ended.reason if record.ended else ""
    known = context.services.policy.reasons.get(reason)
    return {
        "outcome": outcome_in_words(record.outcome),
        "rule": rule_in_words(record.rule),
        "status": call_state_in_words(record),
        "recorded": "Yes" if record.recorded else "No",
        "degraded": "Yes" if record.degraded else "No",
        "message": "Yes" if record.message else "No",
        "ended_reason": csv_cell(known.label if known else reason),
    }


@pages.get("/calls.csv", name="calls-csv", role=Role.manager)
async def call_log_csv(context: PageContext) -> web.StreamResponse:
    """Every call matching the filters, fetched 500 (the API's largest page) at a time."""
    services = context.services
    filters = _filters(context)
    names = await person_names(context.request)
    at = CSV_COLUMNS.index("person_id") + 1
    columns = [*CSV_COLUMNS[:at], CSV_PERSON_NAME, *CSV_COLUMNS[at:]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([CSV_HEADINGS[c] for c in columns])
    offset, page_size = 0, 500
    while True:
        query, errors = call_query(filters, services.tz, offset=offset, limit=page_size)
        if query is None:
            raise web.HTTPBadRequest(text="; ".join(m for _, m in errors.summary))
        page = await query_calls(context.request, query, context.actor, "call_log.csv")
        for record in page.records:
            row = dict(zip(CSV_COLUMNS, csv_row(record), strict=True))
            row.update(_csv_words(context, record))
            row[CSV_PERSON_NAME] = csv_cell(names.get(record.person_id or "", ""))
            writer.writerow([row[c] for c in columns])
        offset += page_size  # by the index, whatever a page held
        if offset >= page.total:
            break
    stamp = services.clock.now().astimezone(services.tz).strftime("%Y%m%d-%H%M")
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="calls-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@pages.get("/calls/{call_sid}", name="call", role=Role.manager)
async def call_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    record = await services.call_log.read_call(
        context.actor, context.request.match_info["call_sid"]
    )
    person = None
    if record.person_id:
        person = await services.register.person(
            record.person_id, context.actor, services.clock.now()
        )
    return await context.render(
        "call.html",
        {
            "title": f"Call from {record.from_}",
            "record": record,
            "person": person,
            "triage_labels": TRIAGE_LABELS,
        },
    )
