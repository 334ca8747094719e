"""Letters and appeals for managers (CONTRACT §7): preview a letter in the browser (the same
HTML the PDF is printed from) and download it; record an appeal, list them, and decide one
(only its named decider). Forms are validated by the API's own models (``AppealIn``,
``AppealDecisionIn``) and carried out by the same services.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from callguard import wording
from callguard.domain.appeals import (
    Appeal,
    AppealDeciderIn,
    AppealDecisionIn,
    AppealIn,
    AppealStatus,
)
from callguard.domain.roles import Role
from callguard.services.errors import Invalid
from callguard.services.letters import RenderedLetter
from callguard.web.api import field_path
from callguard.web.pages import forms, messages, typed_dates
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()

APPEAL_IDS = ("received_on", "grounds", "decider")
DECISION_IDS = ("outcome", "reasons")
# An appeal's outcome, said by what it means for the strategy: "upheld" alone reads as the
# appeal's success to many, where here it is the decision's.
OUTCOME_WORDS = {
    "upheld": "The strategy stays as it is",
    "varied": "The strategy will be changed",
    "ended": "The strategy ends now",
}


def _version(context: PageContext) -> int:
    text = context.request.match_info["version"]
    if not text.isdigit() or len(text) > 6:
        raise web.HTTPNotFound()
    return int(text)


async def _pdf(context: PageContext, letter: RenderedLetter) -> web.Response:
    pdf = await context.services.letters.pdf(letter)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{letter.filename}"',
            "Cache-Control": "no-store",
        },
    )


async def _preview(
    context: PageContext, letter: RenderedLetter, download: str, back: str, **extra: Any
) -> web.Response:
    return await context.render(
        "letter_preview.html",
        {
            "title": letter.title,
            "letter": letter,
            # Rendered by the letters' own auto-escaping templates: safe to place as it is.
            "letter_html": Markup(letter.html),  # noqa: S704
            "download": download,
            "back": back,
            **extra,
        },
    )


# --- letters ------------------------------------------------------------------------------


@pages.get(
    "/strategies/{strategy_id}/versions/{version}/letter", name="strategy-letter", role=Role.manager
)
async def strategy_letter(context: PageContext) -> web.StreamResponse:
    strategy_id, version = context.request.match_info["strategy_id"], _version(context)
    services = context.services
    letter = await services.letters.for_version(
        strategy_id, version, context.actor, services.clock.now()
    )
    return await _preview(
        context,
        letter,
        context.url("strategy-letter-pdf", strategy_id=strategy_id, version=str(version)),
        context.url("strategy", strategy_id=strategy_id),
        # The record-notice form (how and when it was sent) is the notice pages'.
        notice=f"/strategies/{strategy_id}/versions/{version}/notice",
    )


@pages.get(
    "/strategies/{strategy_id}/versions/{version}/letter.pdf",
    name="strategy-letter-pdf",
    role=Role.manager,
)
async def strategy_letter_pdf(context: PageContext) -> web.StreamResponse:
    services = context.services
    letter = await services.letters.for_version(
        context.request.match_info["strategy_id"],
        _version(context),
        context.actor,
        services.clock.now(),
    )
    return await _pdf(context, letter)


@pages.get("/letters/letter.css", name="letter-css", role=Role.manager)
async def letter_css(context: PageContext) -> web.StreamResponse:
    return web.Response(
        text=context.services.letters.stylesheet(),
        content_type="text/css",
        headers={"Cache-Control": "no-store"},
    )


@pages.get("/appeals/{appeal_id}/letter", name="appeal-letter", role=Role.manager)
async def appeal_letter(context: PageContext) -> web.StreamResponse:
    appeal_id = context.request.match_info["appeal_id"]
    services = context.services
    letter = await services.letters.for_appeal(appeal_id, context.actor, services.clock.now())
    return await _preview(
        context,
        letter,
        context.url("appeal-letter-pdf", appeal_id=appeal_id),
        context.url("appeal", appeal_id=appeal_id),
    )


@pages.get("/appeals/{appeal_id}/letter.pdf", name="appeal-letter-pdf", role=Role.manager)
async def appeal_letter_pdf(context: PageContext) -> web.StreamResponse:
    services = context.services
    letter = await services.letters.for_appeal(
        context.request.match_info["appeal_id"], context.actor, services.clock.now()
    )
    return await _pdf(context, letter)


# --- appeals ------------------------------------------------------------------------------


def _validated(
    model: type[BaseModel], raw: dict[str, Any], ids: tuple[str, ...]
) -> tuple[BaseModel | None, FormErrors | None]:
    try:
        return model.model_validate(raw), None
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            path = field_path(tuple(item["loc"]))
            problems.append((path, messages.words_for_error(item, path, "appeal")))
        return None, forms.place(problems, ids, form="appeal")


@pages.get("/appeals", name="appeals", role=Role.manager)
async def appeals_list(context: PageContext) -> web.StreamResponse:
    services = context.services
    appeals = await services.appeals.all()
    waiting = [a for a in appeals if a.status is AppealStatus.awaiting_decision]
    decided = [a for a in appeals if a.status is AppealStatus.decided]
    return await context.render(
        "appeals.html",
        {
            "title": "Appeals",
            "waiting": sorted(waiting, key=lambda a: a.due_on),
            "decided": decided,
            "left_out": len(appeals.left_out),
            "today": services.register.today(services.clock.now()),
            "outcomes": OUTCOME_WORDS,
        },
    )


async def _appeal_form(
    context: PageContext, values: dict[str, Any], errors: FormErrors | None, status: int = 200
) -> web.Response:
    services = context.services
    strategy = await services.register.strategy(context.request.match_info["strategy_id"])
    deciders = await services.appeals.eligible_deciders(strategy.id)
    users = {u.name: u for u in await services.users.list_users()}
    return await context.render(
        "appeal_form.html",
        {
            "title": f"Record an appeal: {strategy.matter_ref}",
            "strategy": strategy,
            "values": values,
            "errors": errors,
            "page_errors": bool(errors),
            "deciders": [("", "Choose who will decide")]
            + [(n, users[n].full_name) for n in deciders],
            "working_days": services.policy.appeals.decide_within_working_days,
        },
        status=status,
    )


@pages.get("/strategies/{strategy_id}/appeals/new", name="appeal-new", role=Role.manager)
async def appeal_new(context: PageContext) -> web.StreamResponse:
    today = context.services.register.today(context.services.clock.now())
    return await _appeal_form(context, typed_dates.date_parts("received_on", today), None)


@pages.post("/strategies/{strategy_id}/appeals/new", name="appeal-create", role=Role.manager)
async def appeal_create(context: PageContext) -> web.StreamResponse:
    services = context.services
    values = {k: v for k, v in context.form.items() if k != "csrf_token"}
    raw = {k: context.text(k) for k in ("grounds", "decider") if context.text(k)}
    received_on = typed_dates.date_from_parts(context.form, "received_on")
    if received_on is not None:  # left out when blank, so the model says it is needed
        raw["received_on"] = received_on
    body, errors = _validated(AppealIn, raw, APPEAL_IDS)
    if body is None:
        return await _appeal_form(context, values, errors, 422)
    assert isinstance(body, AppealIn)
    try:
        appeal = await services.appeals.record(
            context.request.match_info["strategy_id"], body, context.actor, services.clock.now()
        )
    except Invalid as invalid:
        errors = forms.place(invalid.problems, APPEAL_IDS, form="appeal")
        return await _appeal_form(context, values, errors, 422)
    return await context.redirect(
        context.url("appeal", appeal_id=appeal.id),
        f"Appeal recorded. {await context.staff_name(appeal.decider)} is to decide it by "
        f"{wording.long_date(appeal.due_on)}.",
    )


async def _appeal_page(
    context: PageContext,
    appeal: Appeal,
    values: dict[str, Any],
    errors: FormErrors | None,
    status: int = 200,
) -> web.Response:
    services = context.services
    deciders: list[tuple[str, str]] = []
    if appeal.status is AppealStatus.awaiting_decision:
        names = await services.appeals.eligible_deciders(appeal.strategy_id)
        users = {u.name: u for u in await services.users.list_users()}
        deciders = [("", "Choose who will decide")] + [
            (n, users[n].full_name) for n in names if n != appeal.decider
        ]
    return await context.render(
        "appeal.html",
        {
            "deciders": deciders,
            "title": f"Appeal: {appeal.matter_ref}",
            "appeal": appeal,
            "may_decide": appeal.status is AppealStatus.awaiting_decision
            and appeal.decider == context.actor.name,
            "today": services.register.today(services.clock.now()),
            "values": values,
            "errors": errors,
            "page_errors": bool(errors),
            "outcomes": OUTCOME_WORDS,
        },
        status=status,
    )


@pages.get("/appeals/{appeal_id}", name="appeal", role=Role.manager)
async def appeal_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    appeal = await services.appeals.get(context.request.match_info["appeal_id"])
    await services.read_audit.record(
        context.actor, services.clock.now(), "appeal.read", appeal.id, [appeal.person_id]
    )
    return await _appeal_page(context, appeal, {}, None)


@pages.post("/appeals/{appeal_id}/decision", name="appeal-decide", role=Role.manager)
async def appeal_decide(context: PageContext) -> web.StreamResponse:
    services = context.services
    appeal = await services.appeals.get(context.request.match_info["appeal_id"])
    values = {k: context.text(k) for k in DECISION_IDS}
    body, errors = _validated(
        AppealDecisionIn, {k: v for k, v in values.items() if v}, DECISION_IDS
    )
    if body is None:
        return await _appeal_page(context, appeal, values, errors, 422)
    assert isinstance(body, AppealDecisionIn)
    decided = await services.appeals.decide(appeal.id, body, context.actor, services.clock.now())
    return await context.redirect(
        context.url("appeal-letter", appeal_id=decided.id),
        "Decision recorded. Check the outcome letter, then download it and send it.",
    )


@pages.post("/appeals/{appeal_id}/decider", name="appeal-decider", role=Role.manager)
async def appeal_decider(context: PageContext) -> web.StreamResponse:
    """Name another decider when the one named can no longer decide (left, demoted, or
    since involved in the strategy)."""
    services = context.services
    appeal = await services.appeals.get(context.request.match_info["appeal_id"])
    values = {"decider": context.text("decider")}
    body, errors = _validated(AppealDeciderIn, {k: v for k, v in values.items() if v}, ("decider",))
    if body is None:
        return await _appeal_page(context, appeal, values, errors, 422)
    assert isinstance(body, AppealDeciderIn)
    try:
        moved = await services.appeals.reassign(
            appeal.id, body, context.actor, services.clock.now()
        )
    except Invalid as invalid:
        errors = forms.place(invalid.problems, ("decider",), form="appeal")
        return await _appeal_page(context, appeal, values, errors, 422)
    return await context.redirect(
        context.url("appeal", appeal_id=moved.id),
        f"{await context.staff_name(moved.decider)} is now to decide the appeal.",
    )
