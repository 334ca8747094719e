"""Recording that the person was told of a version of their strategy in writing (§3.6),
and what of each strategy awaits notice. The form is validated by the API's own model
(``NotifiedIn``) and carried out by the same use case (``services.register``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard import wording
from callguard.domain.models import NotifiedIn, Strategy, StrategyStatus
from callguard.domain.notice import (
    AwaitingNotice,
    awaiting_notice,
    restrictions_in_force,
    revision_awaiting_notice,
    version_notified_on,
    working_days_after,
)
from callguard.domain.roles import Role
from callguard.services.controls import restriction_in_words
from callguard.services.errors import Invalid, NotFound
from callguard.services.notes import bank_holidays
from callguard.web.pages import forms, typed_dates
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()


def in_force_lines(strategy: Strategy) -> list[str]:
    """The restrictions in words as they apply to calls now (``restrictions_in_force``)."""
    return [restriction_in_words(r) for r in restrictions_in_force(strategy)]


@dataclass(frozen=True)
class PendingRevision:
    """A revision the person has not yet been told of: its version and restrictions."""

    version: int
    lines: list[str]


def pending_revision(strategy: Strategy) -> PendingRevision | None:
    version = revision_awaiting_notice(strategy)
    if version is None:
        return None
    return PendingRevision(version, [restriction_in_words(r) for r in strategy.restrictions])


NOTICE_IDS = ("notified_on", "method")
METHOD_WORDS = {
    "post": "By post",
    "email": "By email",
    "by_hand": "By hand",
    "in_person": "In person, with the letter",
}


@dataclass(frozen=True)
class NoticeRow:
    """One version the person is (or is to be) told of, for the strategy page."""

    version: int
    made_at: datetime
    told_on: date | None
    how: str
    recorded_by: str
    applies: bool
    interim: bool


def notice_rows(strategy: Strategy) -> list[NoticeRow]:
    """Each version that said something to the person (not a review that continued it, nor
    its end): whether, when and how they were told, and which applies to calls."""
    made = [(1, strategy.created_at)] + [
        (r.version, r.at) for r in strategy.revisions if "status" not in r.changed
    ]
    rows = []
    for version, at in made:
        latest = next((n for n in reversed(strategy.notices) if n.version == version), None)
        rows.append(
            NoticeRow(
                version=version,
                made_at=at,
                told_on=version_notified_on(strategy, version),
                how=METHOD_WORDS.get(latest.method or "", "Not said") if latest else "",
                recorded_by=latest.recorded_by if latest else "",
                applies=strategy.status is StrategyStatus.active
                and strategy.applied_version == version,
                interim=version in strategy.interim_versions,
            )
        )
    return rows


@dataclass(frozen=True)
class AwaitingRow:
    strategy: Strategy
    awaiting: AwaitingNotice
    working_days: int


def awaiting_rows(strategies: list[Strategy], context: PageContext) -> list[AwaitingRow]:
    """What awaits notice across the register, longest waiting first."""
    services = context.services
    today = services.register.today(services.clock.now())
    rows = []
    for strategy in strategies:
        awaiting = awaiting_notice(strategy, services.tz)
        if awaiting is not None:
            waited = working_days_after(awaiting.since, today, bank_holidays())
            rows.append(AwaitingRow(strategy, awaiting, waited))
    return sorted(rows, key=lambda row: row.awaiting.since)


def _version(context: PageContext, strategy: Strategy) -> int:
    raw = context.request.match_info["version"]
    version = int(raw) if raw.isdigit() else 0
    if not any(row.version == version for row in notice_rows(strategy)):
        raise web.HTTPNotFound()
    return version


async def _form(
    context: PageContext,
    strategy: Strategy,
    version: int,
    values: dict[str, Any],
    errors: FormErrors | None,
    status: int = 200,
) -> web.Response:
    person = await context.services.register.store.get_person(strategy.person_id)
    return await context.render(
        "strategy_notice.html",
        {
            "title": f"Record that the person was told: strategy {strategy.matter_ref}",
            "strategy": strategy,
            "person_name": person.name if person else "",
            "version": version,
            "values": values,
            "errors": errors,
            "page_errors": bool(errors),
            "methods": list(METHOD_WORDS.items()),
        },
        status=status,
    )


@pages.get(
    "/strategies/{strategy_id}/versions/{version}/notice", name="strategy-notice", role=Role.manager
)
async def notice_form(context: PageContext) -> web.StreamResponse:
    strategy = await context.services.register.strategy(context.request.match_info["strategy_id"])
    return await _form(context, strategy, _version(context, strategy), {}, None)


@pages.post(
    "/strategies/{strategy_id}/versions/{version}/notice",
    name="strategy-notice-post",
    role=Role.manager,
)
async def notice_record(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await services.register.strategy(context.request.match_info["strategy_id"])
    version = _version(context, strategy)
    values = {k: v for k, v in context.form.items() if k != "csrf_token"}
    method = context.text("method")
    raw: dict[str, Any] = {"method": method or None}
    notified_on = typed_dates.date_from_parts(context.form, "notified_on")
    if notified_on is not None:
        raw["notified_on"] = notified_on  # left out when blank, so the model says it is needed
    errors = FormErrors()
    try:
        body = NotifiedIn.model_validate(raw)
    except ValidationError as error:
        errors = forms.place(forms.problems_of(error), NOTICE_IDS)
        body = None
    if not method and errors.get("method") is None:
        # The API takes a notice without its method; the page asks, as evidence (§3.6).
        errors.add("method", "Choose how the person was told")
    if body is None or errors:
        return await _form(context, strategy, version, values, errors, 422)
    try:
        told = await services.register.record_notified(
            strategy.id, version, body, context.actor, services.clock.now()
        )
    except Invalid as invalid:
        errors = forms.place(invalid.problems, NOTICE_IDS)
        return await _form(context, strategy, version, values, errors, 422)
    except NotFound:
        raise web.HTTPNotFound() from None
    said = (
        f"Recorded: the person was told of version {version} on "
        f"{wording.long_date(body.notified_on)}."
    )
    if told.status is StrategyStatus.active and told.applied_version == version:
        said += f" Version {version} now applies to calls."
    return await context.redirect(context.url("strategy", strategy_id=told.id), said)
