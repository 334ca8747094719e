"""Contact strategies for managers: create, revise, review and end (§3.4–3.15).

Every form is validated by the API's own models (``StrategyIn``, ``RevisionIn``, ``ReviewIn``,
``EndIn``) and carried out by the same use cases (``services.register``); errors are shown
beside their inputs (see ``forms``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from callguard.domain.dates import add_months
from callguard.domain.models import (
    EndIn,
    ReviewIn,
    RevisionIn,
    Strategy,
    StrategyIn,
    StrategyStatus,
)
from callguard.domain.roles import Role, has_at_least
from callguard.services.errors import Forbidden, Invalid
from callguard.web.pages import forms
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.register import people_sorted, restrictions_in_words

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
            "latest_review": add_months(today, months).isoformat(),
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


def _form_values(context: PageContext) -> dict[str, Any]:
    return {k: v for k, v in context.form.items() if k not in ("csrf_token", "kinds")}


@pages.post("/strategies/new", name="strategy-create", role=Role.manager)
async def strategy_create(context: PageContext) -> web.StreamResponse:
    services = context.services
    chosen = _kinds_chosen(context)
    days_of = forms.days_from(context.form)
    body, kinds = forms.strategy_body(context.form, chosen, days_of)
    values = _form_values(context)

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
        f"Review due {strategy.review_due.isoformat()}.",
    )


@pages.get("/strategies/{strategy_id}", name="strategy", role=Role.manager)
async def strategy_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await services.register.strategy(context.request.match_info["strategy_id"])
    now = services.clock.now()
    person = await services.register.person(strategy.person_id, context.actor, now)
    breaches, breaches_total = await services.call_log.breaches(strategy.id, limit=10)
    return await context.render(
        "strategy.html",
        {
            "title": f"Strategy {strategy.matter_ref}",
            "strategy": strategy,
            "person": person,
            "summary": restrictions_in_words,
            "breaches": breaches,
            "breaches_total": breaches_total,
            "today": services.register.today(now),
        },
    )


async def _active(context: PageContext) -> Strategy:
    return await context.services.register.strategy(context.request.match_info["strategy_id"])


@pages.get("/strategies/{strategy_id}/revise", name="strategy-revise", role=Role.manager)
async def strategy_revise_form(context: PageContext) -> web.StreamResponse:
    """The revise form; ``?review=1`` makes the revision the outcome of the strategy's
    review (§3.12: continue, revise or end), recorded as one."""
    strategy = await _active(context)
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
        elif path == "next_review_due" or (path == "(body)" and "next_review_due" in reason):
            path = "review_due"
        placed.append((path.removeprefix("revision."), reason))
    return placed


@pages.post("/strategies/{strategy_id}/revise", name="strategy-revise-post", role=Role.manager)
async def strategy_revise(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await _active(context)
    chosen = _kinds_chosen(context)
    days_of = forms.days_from(context.form)
    body, kinds = forms.strategy_body(context.form, chosen, days_of)
    body["person_id"] = strategy.person_id
    values = _form_values(context)
    changes = forms.changes_between(strategy, body)
    revision: dict[str, Any] = {
        "expected_version": _int(context.text("expected_version")) or strategy.version,
        "changes": changes,
        "why": context.text("why"),
        "notified_on": context.text("notified_on") or None,
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
        problems = placed(forms.problems_of(error))
        return await again(forms.strategy_errors(problems, kinds, "changes."))
    except Invalid as invalid:
        return await again(forms.strategy_errors(placed(invalid.problems), kinds, "changes."))
    except Forbidden as forbidden:
        return await again(forms.strategy_errors([("restrictions", forbidden.message)], kinds), 403)
    said = f"Strategy {revised.matter_ref} revised: now version {revised.version}."
    if as_review:
        said = f"Review recorded: {said} Next review {revised.review_due.isoformat()}."
    return await context.redirect(context.url("strategy", strategy_id=revised.id), said)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


REVIEW_IDS = ("outcome", "notes", "next_review_due", "notified_on", "expected_version")
END_IDS = ("why", "notified_on", "expected_version")


async def _decision_page(
    context: PageContext,
    template: str,
    strategy: Strategy,
    values: dict[str, Any],
    errors: FormErrors | None,
    status: int = 200,
) -> web.Response:
    today = context.services.register.today(context.services.clock.now())
    months = context.services.policy.reviews.max_interval_months
    return await context.render(
        template,
        {
            "title": ("Review" if "review" in template else "End")
            + f" strategy {strategy.matter_ref}",
            "strategy": strategy,
            "values": values,
            "errors": errors,
            "page_errors": bool(errors),
            "latest_review": add_months(today, months).isoformat(),
            "months": months,
            "summary": restrictions_in_words,
        },
        status=status,
    )


async def _apply(
    context: PageContext, model: type[BaseModel], raw: dict[str, Any], ids: tuple[str, ...]
) -> tuple[BaseModel | None, FormErrors | None]:
    try:
        return model.model_validate(raw), None
    except ValidationError as error:
        problems = forms.problems_of(error)
        # A rule on the whole form (pydantic's model validator) names the field in its words.
        fixed = [(_field_in(r, ids) if p == "(body)" else p, r) for p, r in problems]
        return None, forms.place(fixed, ids)


def _field_in(reason: str, ids: tuple[str, ...]) -> str:
    return next((i for i in ids if reason.startswith(i)), ids[0])


@pages.get("/strategies/{strategy_id}/review", name="strategy-review", role=Role.manager)
async def strategy_review_form(context: PageContext) -> web.StreamResponse:
    strategy = await _active(context)
    return await _decision_page(
        context, "strategy_review.html", strategy, {"outcome": "continue"}, None
    )


@pages.post("/strategies/{strategy_id}/review", name="strategy-review-post", role=Role.manager)
async def strategy_review(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await _active(context)
    values = _form_values(context)
    outcome = context.text("outcome")
    raw: dict[str, Any] = {
        "outcome": outcome,
        "notes": context.text("notes"),
        "expected_version": _int(context.text("expected_version")) or strategy.version,
        "next_review_due": (context.text("next_review_due") or None)
        if outcome == "continue"
        else None,
        "notified_on": (context.text("notified_on") or None) if outcome == "end" else None,
    }
    body, errors = await _apply(context, ReviewIn, raw, REVIEW_IDS)
    if body is None:
        return await _decision_page(context, "strategy_review.html", strategy, values, errors, 422)
    assert isinstance(body, ReviewIn)
    try:
        reviewed = await services.register.review(
            strategy.id, body, context.actor, services.clock.now()
        )
    except Invalid as invalid:
        errors = forms.place(invalid.problems, REVIEW_IDS)
        return await _decision_page(context, "strategy_review.html", strategy, values, errors, 422)
    said = (
        "ended"
        if reviewed.status is StrategyStatus.ended
        else f"continues; next review {reviewed.review_due.isoformat()}"
    )
    return await context.redirect(
        context.url("strategy", strategy_id=reviewed.id), f"Review recorded: the strategy {said}."
    )


@pages.get("/strategies/{strategy_id}/end", name="strategy-end", role=Role.manager)
async def strategy_end_form(context: PageContext) -> web.StreamResponse:
    strategy = await _active(context)
    return await _decision_page(context, "strategy_end.html", strategy, {}, None)


@pages.post("/strategies/{strategy_id}/end", name="strategy-end-post", role=Role.manager)
async def strategy_end(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await _active(context)
    values = _form_values(context)
    raw = {
        "why": context.text("why"),
        "notified_on": context.text("notified_on") or None,
        "expected_version": _int(context.text("expected_version")) or strategy.version,
    }
    body, errors = await _apply(context, EndIn, raw, END_IDS)
    if body is None:
        return await _decision_page(context, "strategy_end.html", strategy, values, errors, 422)
    assert isinstance(body, EndIn)
    try:
        ended = await services.register.end(strategy.id, body, context.actor, services.clock.now())
    except Invalid as invalid:
        errors = forms.place(invalid.problems, END_IDS)
        return await _decision_page(context, "strategy_end.html", strategy, values, errors, 422)
    return await context.redirect(
        context.url("strategy", strategy_id=ended.id), f"Strategy {ended.matter_ref} ended."
    )
