"""Subject access for managers: the requests and their one-month deadline, logging one from
a person's page, marking one completed, and the readable bundle of everything held on a
person (the same sections as ``GET /api/v1/people/{id}/export``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from callguard import wording
from callguard.domain.fields import STORED
from callguard.domain.models import AdjustmentKind, Restriction
from callguard.domain.roles import Role
from callguard.domain.subject_access import (
    REMINDER_DAYS_BEFORE,
    SubjectAccessCompleteIn,
    SubjectAccessIn,
    SubjectAccessRequest,
)
from callguard.services.controls import restriction_in_words
from callguard.services.errors import Conflict, Invalid
from callguard.web.pages import forms, messages, typed_dates
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()

# What each audited action was, in words the person reading their bundle understands.
AUDIT_WORDS = {
    "person.create": "Added you to the register",
    "person.import": "Added you to the register",
    "person.read": "Read your record",
    "person.export": "Prepared a copy of everything held on you",
    "strategy.create": "Made contact arrangements",
    "strategy.import": "Made contact arrangements",
    "strategy.read": "Read your contact arrangements",
    "strategy.revise": "Changed your contact arrangements",
    "strategy.review.continue": "Reviewed your contact arrangements and kept them",
    "strategy.review.revise": "Reviewed and changed your contact arrangements",
    "strategy.end": "Ended your contact arrangements",
    "strategy.lapse": "Your contact arrangements lapsed",
    "strategy.notified": "Recorded when you were told in writing",
    "strategy.share": "Shared your contact arrangements with another organisation",
    "call.read": "Read the record of a call",
    "call.alert.read": "Read the alert shown to staff during a call",
    "call.message.listen": "Listened to the message left in a call",
    "call.warning": "Warned you during a call",
    "call.end": "Ended a call",
    "call.end.redirect_failed": "Ended a call",
    "call_log.read": "Read the call log",
    "call_log.csv": "Downloaded the call log",
    "call_log.breaches": "Read the list of refused calls",
    "file_note.create": "Started a file note",
    "file_note.read": "Read a file note",
    "file_note.list": "Read the list of file notes",
    "file_note.update": "Wrote a file note",
    "file_note.complete": "Completed a file note",
    "file_note.addendum": "Added to a file note",
    "file_note.sign_off": "Signed off a file note",
    "legal_hold.place": "Kept records beyond their usual time (a legal hold)",
    "legal_hold.lift": "Lifted a legal hold",
    "subject_access.log": "Logged your request for this information",
    "subject_access.complete": "Recorded that your request was answered",
    "person.update": "Changed your details",
    "person.list": "Read the list of people on the register",
    "strategy.list": "Read a list of contact arrangements",
    "strategy.letter": "Prepared a letter to you about your contact arrangements",
    "appeal.create": "Recorded your request to look at a decision again",
    "appeal.decide": "Decided your request to look at a decision again",
    "appeal.letter": "Prepared the letter telling you the outcome of your request",
    "appeal.decider": "Changed who will decide your request to look at a decision again",
    "appeal.read": "Read your request to look at a decision again",
    "appeal.list": "Read a list of requests to look at decisions again",
}


def status_of(request: SubjectAccessRequest, today: date) -> tuple[str, str]:
    """The request's state in words, and the GOV.UK tag colour for it."""
    if request.completed_on is not None:
        return "Completed", "govuk-tag--green"
    if today > request.due_on:
        return "Overdue", "govuk-tag--red"
    if (request.due_on - today).days <= REMINDER_DAYS_BEFORE:
        return "Due soon", "govuk-tag--orange"
    return "Open", "govuk-tag--blue"


def _given(values: dict[str, str]) -> dict[str, str]:
    """The fields filled in (an empty one is missing: "Enter the date …")."""
    return {name: value for name, value in values.items() if value}


def _errors(problems: list[tuple[str, str]]) -> FormErrors:
    errors = FormErrors()
    for path, message in problems:
        errors.add(path, message)
    return errors


def _invalid_words(invalid: Invalid) -> list[tuple[str, str]]:
    return [(f, messages.words_for_reason(f, r)) for f, r in invalid.problems]


_RESTRICTIONS = TypeAdapter(list[Restriction])


def restriction_lines(restrictions: list[dict[str, Any]]) -> list[str]:
    """A strategy's restrictions from the export, each as the register says it."""
    stored = _RESTRICTIONS.validate_python(restrictions, context=STORED)
    return [restriction_in_words(r) for r in stored]


def adjustment_lines(adjustments: list[dict[str, Any]]) -> list[str]:
    """The person's reasonable adjustments from the export, each with what was recorded."""
    lines = []
    for a in adjustments:
        label = forms.ADJUSTMENT_LABELS.get(AdjustmentKind(a["kind"]), "Other")
        lines.append(f"{label}: {a['detail']}" if a.get("detail") else label)
    return lines


def audit_words(action: str) -> str:
    """``strategy.revise`` in words; an action not listed, its name made readable."""
    return AUDIT_WORDS.get(action) or action.replace(".", " ").replace("_", " ").capitalize()


@pages.get("/subject-access", name="subject-access", role=Role.manager)
async def requests_list(context: PageContext) -> web.StreamResponse:
    return await _list(context, FormErrors(), {}, None)


async def _list(
    context: PageContext,
    errors: FormErrors,
    values: dict[str, Any],
    failed_id: str | None,
    status: int = 200,
) -> web.StreamResponse:
    services = context.services
    today = services.register.today(services.clock.now())
    people, _ = await services.register.store.list_people(0, 100_000)
    names = {p.id: p.name for p in people}
    requests = await services.subject_access.all_requests()
    requests.sort(key=lambda r: (r.completed_on is not None, r.due_on))
    return await context.render(
        "subject_access.html",
        {
            "title": "Subject access requests",
            "requests": requests,
            "names": names,
            "status_of": lambda r: status_of(r, today),
            "today_parts": lambda field: typed_dates.date_parts(field, today),
            "errors": errors,
            "values": values,
            "failed_id": failed_id,
            "page_errors": bool(errors),
        },
        status=status,
    )


@pages.post(
    "/people/{person_id}/subject-access-requests",
    name="person-subject-access",
    role=Role.manager,
)
async def log_request(context: PageContext) -> web.StreamResponse:
    services = context.services
    person_id = context.request.match_info["person_id"]
    values = {k: v for k, v in context.form.items() if k != "csrf_token"}
    received_on = typed_dates.date_from_parts(context.form, "received_on")
    try:
        # Left out when blank, so the model says it is needed.
        body = SubjectAccessIn.model_validate({"received_on": received_on} if received_on else {})
        logged = await services.subject_access.log_request(
            person_id, body, context.actor, services.clock.now()
        )
    except ValidationError as error:
        return await _log_form(context, person_id, values, _errors(forms.problems_of(error)))
    except Invalid as invalid:
        return await _log_form(context, person_id, values, _errors(_invalid_words(invalid)))
    due = wording.long_date(logged.due_on)
    return await context.redirect(
        context.url("person", person_id=person_id),
        f"Subject access request logged. It must be answered by {due}.",
    )


async def _log_form(
    context: PageContext, person_id: str, values: dict[str, str], errors: FormErrors
) -> web.StreamResponse:
    services = context.services
    person = await services.register.person(person_id, context.actor, services.clock.now())
    return await context.render(
        "subject_access_form.html",
        {
            "title": "Log a subject access request",
            "person": person,
            "values": values,
            "errors": errors,
            "page_errors": True,
        },
        status=422,
    )


@pages.post(
    "/subject-access/{request_id}/completed",
    name="subject-access-complete",
    role=Role.manager,
)
async def complete_request(context: PageContext) -> web.StreamResponse:
    services = context.services
    request_id = context.request.match_info["request_id"]
    field = f"completed_on-{request_id}"
    values = {f"{field}-{part}": context.text(f"{field}-{part}") for part in typed_dates.DATE_PARTS}
    completed_on = typed_dates.date_from_parts(context.form, field) or ""
    try:
        body = SubjectAccessCompleteIn.model_validate(_given({"completed_on": completed_on}))
        await services.subject_access.complete(
            request_id, body, context.actor, services.clock.now()
        )
    except ValidationError as error:
        problems = [(field, m) for _, m in forms.problems_of(error)]
        return await _list(context, _errors(problems), values, request_id, 422)
    except Invalid as invalid:
        problems = [(field, m) for _, m in _invalid_words(invalid)]
        return await _list(context, _errors(problems), values, request_id, 422)
    except Conflict:
        return await context.redirect(
            context.url("subject-access"), "That request was already marked completed."
        )
    return await context.redirect(
        context.url("subject-access"), "Subject access request marked completed."
    )


@pages.get("/people/{person_id}/subject-access-bundle", name="person-bundle", role=Role.manager)
async def bundle(context: PageContext) -> web.StreamResponse:
    """Everything held on the person, readable and printable (for sending to them)."""
    services = context.services
    person_id = context.request.match_info["person_id"]
    data = await services.subject_access.export(person_id, context.actor, services.clock.now())
    tz = services.tz

    def iso_day(text: str | None) -> str:
        return wording.long_date(date.fromisoformat(text)) if text else "Not recorded"

    def iso_when(text: str | None) -> str:
        return wording.date_and_time(datetime.fromisoformat(text), tz) if text else ""

    return await context.render(
        "subject_access_bundle.html",
        {
            "title": f"Everything held on {data['person']['name']}",
            "data": data,
            "iso_day": iso_day,
            "iso_when": iso_when,
            "words": lambda code: str(code).replace("_", " ").capitalize() if code else "",
            "audit_words": audit_words,
            "restriction_lines": restriction_lines,
            "adjustment_lines": adjustment_lines,
        },
    )
