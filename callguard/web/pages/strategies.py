"""Contact strategies for managers: create, revise, review and end (§3.4–3.15).

Every form is validated by the API's own models (``StrategyIn``, ``RevisionIn``, ``ReviewIn``,
``EndIn``) and carried out by the same use cases (``services.register``); errors are shown
beside their inputs (see ``forms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard import wording
from callguard.domain.appeals import Appeal
from callguard.domain.dates import add_months
from callguard.domain.models import (
    Review,
    ReviewIn,
    Revision,
    RevisionIn,
    Strategy,
    StrategyIn,
    StrategyStatus,
)
from callguard.domain.roles import Role, has_at_least
from callguard.services.errors import Forbidden, Invalid, NotActive, StaleVersion
from callguard.web.pages import forms, messages, typed_dates, words
from callguard.web.pages.appeals import OUTCOME_WORDS
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.register import people_sorted
from callguard.web.pages.strategy_notice import in_force_lines, notice_rows, pending_revision

pages = Pages()


def _kinds_chosen(context: PageContext) -> list[str]:
    return [k for k in context.form.getall("kinds", []) if k in forms.KINDS]


async def _strategy_form(
    context: PageContext,
    *,
    mode: str,
    values: dict[str, Any],
    kinds: list[str],
    days_of: dict[int, list[str]],
    errors: FormErrors | None,
    strategy: Strategy | None = None,
    status: int = 200,
    as_review: bool = False,
) -> web.Response:
    today = context.services.register.today(context.services.clock.now())
    months = context.services.policy.reviews.max_interval_months
    latest = add_months(today, months)
    if mode == "create" and errors is None:
        # The latest date the policy allows: the manager may bring it forward.
        values = {**typed_dates.date_parts("review_due", latest), **values}
    people = await people_sorted(context)
    return await context.render(
        "strategy_form.html",
        {
            "title": "Revise the strategy" if mode == "revise" else "Create a contact strategy",
            "mode": mode,
            "as_review": as_review,
            "values": values,
            "kinds": kinds,
            "days_of": days_of,
            "errors": errors,
            "page_errors": bool(errors),
            "strategy": strategy,
            "people": [(p.id, p.name) for p in people],
            "kind_labels": forms.KIND_LABELS,
            "all_kinds": [
                k for k in forms.KINDS if k != "no_response" or _may_no_response(context)
            ],
            "day_labels": forms.DAY_LABELS,
            "window_rows": range(forms.WINDOW_ROWS),
            "latest_review": wording.long_date(latest),
            "today": today.isoformat(),
            "months": months,
        },
        status=status,
    )


def _may_no_response(context: PageContext) -> bool:
    needed = context.services.policy.role_to_create("no_response")
    return has_at_least(context.actor.role, needed)


@pages.get("/strategies/new", name="strategy-new", role=Role.manager)
async def strategy_new(context: PageContext) -> web.StreamResponse:
    values = {"person_id": context.request.query.get("person_id", "")}
    return await _strategy_form(
        context, mode="create", values=values, kinds=[], days_of={}, errors=None
    )


def form_values(context: PageContext) -> dict[str, Any]:
    return {k: v for k, v in context.form.items() if k not in ("csrf_token", "kinds")}


@pages.post("/strategies/new", name="strategy-create", role=Role.manager)
async def strategy_create(context: PageContext) -> web.StreamResponse:
    services = context.services
    chosen = _kinds_chosen(context)
    days_of = forms.days_from(context.form)
    body, kinds = forms.strategy_body(context.form, chosen, days_of)
    values = form_values(context)

    async def again(errors: FormErrors, status: int = 422) -> web.Response:
        return await _strategy_form(
            context,
            mode="create",
            values=values,
            kinds=chosen,
            days_of=days_of,
            errors=errors,
            status=status,
        )

    try:
        strategy_in = StrategyIn.model_validate(body)
        strategy = await services.register.create_strategy(
            strategy_in, context.actor, services.clock.now()
        )
    except ValidationError as error:
        return await again(forms.strategy_errors(forms.problems_of(error), kinds))
    except Invalid as invalid:
        return await again(forms.strategy_errors(invalid.problems, kinds))
    except Forbidden as forbidden:
        return await again(forms.strategy_errors([("restrictions", forbidden.message)], kinds), 403)
    return await context.redirect(
        context.url("strategy", strategy_id=strategy.id),
        f"Contact strategy {strategy.matter_ref} created. "
        f"Review due {wording.long_date(strategy.review_due)}.",
    )


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    what: str
    by: str
    why: str
    notified_on: date | None = None


def strategy_history(strategy: Strategy) -> list[HistoryRow]:
    """Every version and review of the strategy in one list, oldest first.

    A revision names its version; a review that continues the strategy makes a version
    of its own (its new review date) without a revision; a review whose outcome is a
    revision or the end is recorded with that revision, so it is one row."""
    rows = [
        HistoryRow(
            strategy.created_at,
            "Version 1: created",
            strategy.created_by,
            "—",
            strategy.notified_on,
        )
    ]
    reviews = list(strategy.reviews)
    events: list[tuple[datetime, int, Revision | Review]] = [
        (r.at, 0, r) for r in strategy.revisions
    ] + [(r.at, 1, r) for r in reviews]
    version = 1
    for at, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, Revision):
            version = event.version
            review = next(
                (
                    r
                    for r in reviews
                    if r.at == event.at and r.by == event.by and r.outcome != "continue"
                ),
                None,
            )
            if "status" in event.changed:
                what = f"Version {version}: ended"
            else:
                what = f"Version {version}: revised ({words.fields_in_words(event.changed)})"
            why = event.why
            if review is not None:
                what += " after a review"
                if review.notes != event.why:
                    why = f"{event.why}\nReview notes: {review.notes}"
            rows.append(HistoryRow(at, what, event.by, why, event.notified_on))
        elif event.outcome == "continue":
            version += 1
            what = f"Version {version}: reviewed, continues"
            if event.next_review_due:
                what += f"; next review {wording.long_date(event.next_review_due)}"
            rows.append(HistoryRow(at, what, event.by, event.notes))
    return rows


@pages.get("/strategies/{strategy_id}", name="strategy", role=Role.manager)
async def strategy_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    now = services.clock.now()
    strategy = await services.register.read_strategy(
        context.request.match_info["strategy_id"], context.actor, now
    )
    person = await services.register.person(strategy.person_id, context.actor, now)
    breaches = await services.call_log.breaches(strategy.id, limit=10)
    appeals = await services.appeals.of_strategy(strategy.id)
    return await context.render(
        "strategy.html",
        {
            "title": f"Strategy {strategy.matter_ref}",
            "strategy": strategy,
            "person": person,
            "in_force_lines": in_force_lines(strategy),
            "pending": pending_revision(strategy),
            "breaches": breaches.records,
            "breaches_left_out": len(breaches.left_out),
            "history": sorted(
                strategy_history(strategy) + appeal_rows(appeals, await context.staff_names()),
                key=lambda r: r.at,
            ),
            "appeals": appeals,
            "appeal_outcomes": OUTCOME_WORDS,
            "breaches_total": breaches.total,
            "today": services.register.today(now),
            "notice_rows": notice_rows(strategy),
            # Review and revise are the chief executive's for a no-response strategy (§8.3).
            "may_keep": _may_no_response(context)
            or not any(r.kind == "no_response" for r in strategy.restrictions),
        },
    )


ENDED = "This strategy has ended, so it cannot be changed. Nothing was saved"


async def changeable(context: PageContext, strategy: Strategy) -> Strategy:
    """``strategy``, if it can still be changed; one that has ended sends the manager to its
    page, saying so."""
    if strategy.status not in (StrategyStatus.active, StrategyStatus.awaiting_notice):
        await context.back_to(context.url("strategy", strategy_id=strategy.id), ENDED)
    return strategy


async def active_strategy(context: PageContext) -> Strategy:
    """The strategy the page's address names, if it can still be changed (``changeable``)."""
    strategy_id = context.request.match_info["strategy_id"]
    return await changeable(context, await context.services.register.strategy(strategy_id))


@pages.get("/strategies/{strategy_id}/revise", name="strategy-revise", role=Role.manager)
async def strategy_revise_form(context: PageContext) -> web.StreamResponse:
    """The revise form; ``?review=1`` makes the revision the outcome of the strategy's
    review (§3.12: continue, revise or end), recorded as one."""
    strategy = await active_strategy(context)
    values, kinds, days_of = forms.strategy_values(strategy)
    return await _strategy_form(
        context,
        mode="revise",
        values=values,
        kinds=kinds,
        days_of=days_of,
        errors=None,
        strategy=strategy,
        as_review=context.request.query.get("review") == "1",
    )


def _as_review_paths(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A review's problems named by the revise form's fields: its notes are the review
    notes, its next review the form's review due, its revision the form itself."""
    placed = []
    for path, reason in problems:
        if path == "notes":
            path = "review_notes"
        elif path == "next_review_due" or (path == "(body)" and "next review" in reason):
            path = "review_due"
        placed.append((path.removeprefix("revision."), reason))
    return placed


@pages.post("/strategies/{strategy_id}/revise", name="strategy-revise-post", role=Role.manager)
async def strategy_revise(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await active_strategy(context)
    chosen = _kinds_chosen(context)
    days_of = forms.days_from(context.form)
    body, kinds = forms.strategy_body(context.form, chosen, days_of)
    body["person_id"] = strategy.person_id
    values = form_values(context)
    changes = forms.changes_between(strategy, body)
    revision: dict[str, Any] = {
        "expected_version": int_or_none(context.text("expected_version")) or strategy.version,
        "changes": changes,
        "why": context.text("why"),
        "notified_on": typed_dates.date_from_parts(context.form, "notified_on"),
        "interim": context.text("interim") == "yes",
    }

    as_review = context.text("as_review") == "1"
    placed = _as_review_paths if as_review else list

    async def again(errors: FormErrors, status: int = 422) -> web.Response:
        return await _strategy_form(
            context,
            mode="revise",
            values=values,
            kinds=chosen,
            days_of=days_of,
            errors=errors,
            strategy=strategy,
            status=status,
            as_review=as_review,
        )

    now = services.clock.now()
    try:
        revision_in = RevisionIn.model_validate(revision)
        if as_review:
            review_in = ReviewIn.model_validate(
                {
                    "outcome": "revise",
                    "notes": context.text("review_notes"),
                    "expected_version": revision_in.expected_version,
                    "next_review_due": body.get("review_due") or None,
                    "revision": revision_in,
                }
            )
            revised = await services.register.review(strategy.id, review_in, context.actor, now)
        else:
            revised = await services.register.revise(strategy.id, revision_in, context.actor, now)
    except ValidationError as error:
        problems = placed(forms.problems_of(error, form="revise"))
        return await again(forms.strategy_errors(problems, kinds, "changes."))
    except Invalid as invalid:
        problems = placed(invalid.problems)
        return await again(forms.strategy_errors(problems, kinds, "changes.", form="revise"))
    except (StaleVersion, NotActive):
        # The form shows the strategy as it is now (or, if another change ended it, its
        # page: ``changeable``), not what was typed over the version before: sent again as
        # it was, it would undo the other person's change. What describes this revision
        # rather than the strategy (why, when told, review notes) is kept.
        current = await changeable(context, await services.register.strategy(strategy.id))
        errors = FormErrors()
        errors.add("changes", messages.stale_version(current.version))
        now_values, now_kinds, now_days = forms.strategy_values(current)
        kept = {k: v for k, v in values.items() if k in forms.REVISION_OWN_FIELDS}
        return await _strategy_form(
            context,
            mode="revise",
            values={**now_values, **kept},
            kinds=now_kinds,
            days_of=now_days,
            errors=errors,
            strategy=current,
            status=409,
            as_review=as_review,
        )
    except Forbidden as forbidden:
        return await again(forms.strategy_errors([("restrictions", forbidden.message)], kinds), 403)
    said = f"Strategy {revised.matter_ref} revised: now version {revised.version}."
    if as_review:
        said = f"Review recorded: {said} Next review {wording.long_date(revised.review_due)}."
    return await context.redirect(context.url("strategy", strategy_id=revised.id), said)


def int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def appeal_rows(appeals: list[Appeal], staff_names: dict[str, str]) -> list[HistoryRow]:
    """Each appeal in the strategy's history: when it was recorded and when decided."""
    rows = []
    for a in appeals:
        decider = staff_names.get(a.decider, a.decider)
        received = f"Appeal received {wording.long_date(a.received_on)}; {decider} to decide"
        rows.append(HistoryRow(a.recorded_at, received, a.recorded_by, a.grounds))
        if a.decided_at is not None and a.outcome is not None:
            what = f"Appeal decided: {wording.mid_sentence(OUTCOME_WORDS[a.outcome])}"
            rows.append(HistoryRow(a.decided_at, what, a.decider, a.reasons or ""))
    return rows
