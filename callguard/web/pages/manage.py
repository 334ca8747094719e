"""Managers' overview and lists: reviews due and overdue (§3.12), breaches (§3.11), file
notes to sign off (§6.5), staff welfare (§5.5), repeat callers (§5.3), and the preview
"what happens if they call at…"."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.duties import Quarter, local_day
from callguard.domain.models import Strategy, StrategyStatus
from callguard.domain.roles import Role
from callguard.services.container import Services
from callguard.services.errors import Invalid
from callguard.services.reports import report_csv
from callguard.web.api_call_log import Preview, PreviewIn
from callguard.web.pages.charts import calls_per_week, stacked_weeks_svg
from callguard.web.pages.demo import is_demo
from callguard.web.pages.forms import KIND_LABELS, FormErrors, place, problems_of
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.typed_dates import DATE_PARTS, clock_time, date_from_parts, date_parts
from callguard.web.pages.words import STRATEGY_COUNT_LABELS

pages = Pages()

DUE_SOON_DAYS = 14
OVERVIEW_WEEKS = 8
RECENT = 10


async def _active_strategies(services: Services) -> list[Strategy]:
    strategies, _ = await services.register.store.list_strategies(0, 100_000)
    return [s for s in strategies if s.status is StrategyStatus.active]


async def _names(services: Services) -> dict[str, str]:
    people, _ = await services.register.store.list_people(0, 100_000)
    return {p.id: p.name for p in people}


def reviews_due(
    strategies: list[Strategy], today: Any, within_days: int = DUE_SOON_DAYS
) -> tuple[list[Strategy], list[Strategy]]:
    """(overdue, due within ``within_days``), soonest first."""
    ordered = sorted(strategies, key=lambda s: s.review_due)
    overdue = [s for s in ordered if s.review_due < today]
    soon = [s for s in ordered if today <= s.review_due <= today + timedelta(days=within_days)]
    return overdue, soon


@pages.get("/manage", name="manage", role=Role.manager)
async def overview(context: PageContext) -> web.StreamResponse:
    services = context.services
    now = services.clock.now()
    today = services.register.today(now)
    active = await _active_strategies(services)
    overdue, soon = reviews_due(active, today)
    names = await _names(services)
    breaches = await services.call_log.calls(
        outcome="refuse", since=now - timedelta(days=30), limit=RECENT
    )
    since = now - timedelta(weeks=OVERVIEW_WEEKS)
    week_calls = await services.call_log.calls(since=since, limit=50_000)
    weekly = calls_per_week(week_calls.records, now, services.tz, OVERVIEW_WEEKS)
    notes = await services.notes.listing(context.actor, None, None)
    to_sign = [n for n in notes if n.status == "completed" and n.signed_off is None]
    drafts_overdue = [n for n in notes if n.status == "draft" and n.due_at < now]
    messages = await services.call_log.messages(limit=1)
    welfare = await services.notifier.welfare_report(now, 1)
    notifications = await services.notifier.of_user(context.actor.name, True, 10)
    repeat = await services.call_log.repeat_callers(10)
    return await context.render(
        "manage.html",
        {
            "title": "Overview",
            "overdue": overdue,
            "soon": soon,
            "names": names,
            "breaches": breaches.records,
            "breaches_total": breaches.total,
            "calls_left_out": len({*breaches.left_out, *week_calls.left_out}),
            "notes_left_out": len(notes.left_out),
            "chart": stacked_weeks_svg(
                weekly,
                f"All calls per week, last {OVERVIEW_WEEKS} weeks: connected and refused",
                "overview-chart",
            ),
            "weekly": weekly,
            "to_sign": to_sign,
            "drafts_overdue": drafts_overdue,
            "messages_total": messages.total,
            "welfare": welfare,
            "notifications": notifications,
            "repeat": repeat,
            "today": today,
            "demo": is_demo(context.request.app),
        },
    )


@pages.get("/reviews", name="reviews", role=Role.manager)
async def reviews(context: PageContext) -> web.StreamResponse:
    services = context.services
    today = services.register.today(services.clock.now())
    overdue, soon = reviews_due(await _active_strategies(services), today, 31)
    return await context.render(
        "reviews.html",
        {
            "title": "Reviews due",
            "overdue": overdue,
            "soon": soon,
            "names": await _names(services),
            "today": today,
        },
    )


@pages.get("/notes", name="notes", role=Role.manager)
async def notes_list(context: PageContext) -> web.StreamResponse:
    services = context.services
    now = services.clock.now()
    notes = await services.notes.listing(context.actor, None, None)
    return await context.render(
        "notes.html",
        {
            "title": "File notes",
            "to_sign": [n for n in notes if n.status == "completed" and n.signed_off is None],
            "drafts": [n for n in notes if n.status == "draft"],
            "signed": [n for n in notes if n.signed_off is not None][:20],
            "left_out": len(notes.left_out),
            "now": now,
        },
    )


@pages.get("/welfare", name="welfare-page", role=Role.manager)
async def welfare(context: PageContext) -> web.StreamResponse:
    services = context.services
    report = await services.notifier.welfare_report(services.clock.now(), 8)
    return await context.render("welfare.html", {"title": "Staff welfare", "report": report})


# --- preview ------------------------------------------------------------------------------

PREVIEW_IDS = ("phone", "date", "time", "at")
PREVIEW_LABELS = {"phone": "Phone number", "at": "Date and time"}


async def preview_call(services: Services, body: PreviewIn) -> Preview:
    """What ``POST /api/v1/preview`` answers: no record, no count, no call."""
    decision, hears = await services.screening.preview(body.phone, body.at)
    return Preview(decision=decision, caller_hears=hears)


@pages.get("/preview", name="preview-page", role=Role.manager)
async def preview_form(context: PageContext) -> web.StreamResponse:
    services = context.services
    local = services.clock.now().astimezone(services.tz)
    values = {
        "phone": context.request.query.get("phone", ""),
        **date_parts("date", local.date()),
        "time": local.strftime("%H:%M"),
    }
    return await _preview_page(context, values, None, None)


async def _preview_page(
    context: PageContext,
    values: dict[str, str],
    result: Preview | None,
    errors: FormErrors | None,
    status: int = 200,
) -> web.Response:
    return await context.render(
        "preview.html",
        {
            "title": "Preview a call",
            "values": values,
            "result": result,
            "errors": errors,
            "page_errors": bool(errors),
        },
        status=status,
    )


@pages.post("/preview", name="preview-post", role=Role.manager)
async def preview(context: PageContext) -> web.StreamResponse:
    services = context.services
    names = ("phone", "time", *(f"date-{part}" for part in DATE_PARTS))
    values = {name: context.text(name) for name in names}
    errors = FormErrors()
    at: datetime | None = None
    typed_day = date_from_parts(context.form, "date")
    day = None
    if typed_day is None:
        errors.add("date", "Enter the date of the call, like 15 2 2027")
    else:
        try:
            day = datetime.strptime(typed_day, "%Y-%m-%d").date()
        except ValueError:
            errors.add("date", "The date of the call must be a real date, like 15 2 2027")
    typed = clock_time(values["time"])
    try:
        clock = time.fromisoformat(typed) if len(typed) == 5 and typed != "24:00" else None
    except ValueError:
        clock = None
    if clock is None:
        errors.add("time", "Enter a time, like 9:30am or 14:00")
    if day and clock:
        at = datetime.combine(day, clock, services.tz)
    try:
        body = PreviewIn.model_validate({"phone": values["phone"], "at": at})
    except ValidationError as error:
        for path, reason in problems_of(error):
            if path == "phone":
                errors.add("phone", reason)
        body = None
    if errors or body is None:
        errors = errors or place([("at", "Enter a date and time")], PREVIEW_IDS)
        return await _preview_page(context, values, None, errors, 422)
    result = await preview_call(services, body)
    return await _preview_page(context, values, result, None)


# --- the quarterly oversight report -------------------------------------------------------


def _quarter(context: PageContext) -> tuple[Quarter | None, FormErrors | None]:
    services = context.services
    raw = context.request.query.get("quarter", "").strip()[:10]
    if not raw:
        return Quarter.of(local_day(services.clock.now(), services.tz)), None
    try:
        return Quarter.parse(raw), None
    except ValueError as error:
        errors = FormErrors()
        errors.add("quarter", f"The quarter {error}")
        return None, errors


@pages.get("/oversight", name="oversight", role=Role.manager)
async def oversight(context: PageContext) -> web.StreamResponse:
    """The quarterly oversight report (counts only, no personal data), as the API gives it."""
    services = context.services
    quarter, errors = _quarter(context)
    report = None
    if quarter is not None:
        try:
            report = await services.duties.reports.report(quarter, services.clock.now())
        except Invalid as invalid:
            errors = place(invalid.problems, ("quarter",))
    this_quarter = Quarter.of(local_day(services.clock.now(), services.tz))
    recent = [this_quarter]
    for _ in range(3):
        recent.append(recent[-1].previous())
    return await context.render(
        "oversight.html",
        {
            "title": "Oversight report",
            "report": report,
            "errors": errors,
            "page_errors": bool(errors),
            "quarter": str(quarter) if quarter else context.request.query.get("quarter", ""),
            "recent": [str(q) for q in recent],
            "kind_labels": KIND_LABELS,
            "strategy_count_labels": STRATEGY_COUNT_LABELS,
            "reasons": services.policy.reasons,
        },
        status=422 if errors else 200,
    )


@pages.get("/oversight.csv", name="oversight-csv", role=Role.manager)
async def oversight_csv(context: PageContext) -> web.StreamResponse:
    quarter, _ = _quarter(context)
    if quarter is None:
        raise web.HTTPBadRequest(text="quarter: must be a quarter like 2026-Q4")
    report = await context.services.duties.reports.report(quarter, context.services.clock.now())
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="oversight-{report.quarter}.csv"',
            "Cache-Control": "no-store",
        },
    )
