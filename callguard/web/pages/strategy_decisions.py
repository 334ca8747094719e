"""Recording a review of a contact strategy, and ending one (§3.13–3.15): each a form
validated by the API's own models (``ReviewIn``, ``EndIn``) and carried out by
``services.register``, as the strategy pages are (see ``strategies``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from callguard import wording
from callguard.domain.dates import add_months
from callguard.domain.models import (
    EndIn,
    ReviewIn,
    Strategy,
    StrategyStatus,
)
from callguard.domain.roles import Role
from callguard.services.errors import Invalid, NotActive, StaleVersion
from callguard.web.api import field_path
from callguard.web.pages import forms, messages, typed_dates
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.strategies import (
    active_strategy,
    changeable,
    form_values,
    int_or_none,
)
from callguard.web.pages.strategy_notice import in_force_lines

pages = Pages()


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
            "latest_review": wording.long_date(add_months(today, months)),
            "months": months,
            "restriction_lines": in_force_lines,
        },
        status=status,
    )


async def _after_another_change(
    context: PageContext, template: str, strategy: Strategy, values: dict[str, Any]
) -> web.Response:
    """A review or ending that lost to another change of the strategy (StaleVersion, or
    NotActive when that change ended it): its form again, with what was typed, for the
    strategy as it now is; or, if it has ended, its page (``changeable``)."""
    current = await changeable(context, await context.services.register.strategy(strategy.id))
    ids = REVIEW_IDS if "review" in template else END_IDS
    errors = forms.place([("expected_version", messages.stale_version(current.version, True))], ids)
    return await _decision_page(context, template, current, values, errors, 409)


async def _apply(
    context: PageContext, model: type[BaseModel], raw: dict[str, Any], ids: tuple[str, ...]
) -> tuple[BaseModel | None, FormErrors | None]:
    form = "end" if model is EndIn else ""
    try:
        return model.model_validate(raw), None
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            path = field_path(tuple(item["loc"]))
            if path == "(body)":
                # A rule on the whole form (a model validator) names the field it is about.
                path = _field_in(str(item["msg"]).removeprefix("Value error, "), ids)
            problems.append((path, messages.words_for_error(item, path, form)))
        return None, forms.place(problems, ids, form=form)


def _field_in(reason: str, ids: tuple[str, ...]) -> str:
    return next((i for i in ids if reason.startswith(i)), ids[0])


@pages.get("/strategies/{strategy_id}/review", name="strategy-review", role=Role.manager)
async def strategy_review_form(context: PageContext) -> web.StreamResponse:
    strategy = await active_strategy(context)
    today = context.services.register.today(context.services.clock.now())
    latest = add_months(today, context.services.policy.reviews.max_interval_months)
    values = dict(typed_dates.date_parts("next_review_due", latest))  # no outcome chosen for them
    return await _decision_page(context, "strategy_review.html", strategy, values, None)


@pages.post("/strategies/{strategy_id}/review", name="strategy-review-post", role=Role.manager)
async def strategy_review(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await active_strategy(context)
    values = form_values(context)
    outcome = context.text("outcome")
    raw: dict[str, Any] = {
        "outcome": outcome,
        "notes": context.text("notes"),
        "expected_version": int_or_none(context.text("expected_version")) or strategy.version,
        "next_review_due": typed_dates.date_from_parts(context.form, "next_review_due")
        if outcome == "continue"
        else None,
        "notified_on": typed_dates.date_from_parts(context.form, "notified_on")
        if outcome == "end"
        else None,
    }
    body, errors = await _apply(context, ReviewIn, raw, REVIEW_IDS)
    if body is None:
        return await _decision_page(context, "strategy_review.html", strategy, values, errors, 422)
    assert isinstance(body, ReviewIn)
    try:
        reviewed = await services.register.review(
            strategy.id, body, context.actor, services.clock.now()
        )
    except (StaleVersion, NotActive):
        return await _after_another_change(context, "strategy_review.html", strategy, values)
    except Invalid as invalid:
        errors = forms.place(invalid.problems, REVIEW_IDS)
        return await _decision_page(context, "strategy_review.html", strategy, values, errors, 422)
    said = (
        "ended"
        if reviewed.status is StrategyStatus.ended
        else f"continues; next review {wording.long_date(reviewed.review_due)}"
    )
    return await context.redirect(
        context.url("strategy", strategy_id=reviewed.id), f"Review recorded: the strategy {said}."
    )


@pages.get("/strategies/{strategy_id}/end", name="strategy-end", role=Role.manager)
async def strategy_end_form(context: PageContext) -> web.StreamResponse:
    strategy = await active_strategy(context)
    return await _decision_page(context, "strategy_end.html", strategy, {}, None)


@pages.post("/strategies/{strategy_id}/end", name="strategy-end-post", role=Role.manager)
async def strategy_end(context: PageContext) -> web.StreamResponse:
    services = context.services
    strategy = await active_strategy(context)
    values = form_values(context)
    raw = {
        "why": context.text("why"),
        "notified_on": typed_dates.date_from_parts(context.form, "notified_on"),
        "expected_version": int_or_none(context.text("expected_version")) or strategy.version,
    }
    body, errors = await _apply(context, EndIn, raw, END_IDS)
    if body is None:
        return await _decision_page(context, "strategy_end.html", strategy, values, errors, 422)
    assert isinstance(body, EndIn)
    try:
        ended = await services.register.end(strategy.id, body, context.actor, services.clock.now())
    except (StaleVersion, NotActive):
        return await _after_another_change(context, "strategy_end.html", strategy, values)
    except Invalid as invalid:
        errors = forms.place(invalid.problems, END_IDS, form="end")
        return await _decision_page(context, "strategy_end.html", strategy, values, errors, 422)
    return await context.redirect(
        context.url("strategy", strategy_id=ended.id), f"Strategy {ended.matter_ref} ended."
    )
