"""The register for managers: the list of strategies and people, adding a person and
changing their details, and a person's page (strategies, calls per week, timeline).
Strategies themselves: ``strategies``.

Forms are validated by the API's own models (``PersonIn``) and carried out by the same use
cases (``services.register``), so a page accepts nothing the API would refuse.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.models import (
    AdjustmentKind,
    Person,
    PersonIn,
    PersonPatch,
    Strategy,
)
from callguard.domain.roles import Role
from callguard.services import people
from callguard.services.errors import Conflict, Invalid
from callguard.web.pages import forms, messages, typed_dates
from callguard.web.pages.charts import calls_per_week, stacked_weeks_svg
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.strategy_notice import awaiting_rows, in_force_lines
from callguard.web.pages.subject_access import status_of as subject_access_status
from callguard.web.pages.timeline import person_timeline

pages = Pages()

CHART_WEEKS = 12


async def people_sorted(context: PageContext) -> list[Person]:
    people, _ = await context.services.register.store.list_people(0, 100_000)
    return sorted(people, key=lambda p: p.name.lower())


async def _strategies(context: PageContext) -> list[Strategy]:
    strategies, _ = await context.services.register.store.list_strategies(0, 100_000)
    return strategies


@pages.get("/people", name="people", role=Role.manager)
async def people_list(context: PageContext) -> web.StreamResponse:
    """The register. A search (name or matter reference) applies to every section shown:
    what awaits notice, the strategies and the people (a person matches by their name or
    by one of their strategies' references); the status applies to the strategies only."""
    query = context.request.query.get("q", "").strip()[:100]
    status = context.request.query.get("status", "active")
    people = await people_sorted(context)
    names = {p.id: p.name for p in people}
    strategies = await _strategies(context)
    if query:
        needle = query.lower()

        def matches(strategy: Strategy) -> bool:
            name = names.get(strategy.person_id, "")
            return needle in strategy.matter_ref.lower() or needle in name.lower()

        strategies = [s for s in strategies if matches(s)]
        found_by_ref = {s.person_id for s in strategies}
        people = [p for p in people if needle in p.name.lower() or p.id in found_by_ref]
    awaiting = awaiting_rows(strategies, context)
    if status in ("active", "ended", "lapsed", "awaiting_notice"):
        strategies = [s for s in strategies if s.status.value == status]
    strategies.sort(key=lambda s: s.review_due)
    today = context.services.register.today(context.services.clock.now())
    return await context.render(
        "people.html",
        {
            "title": f"Register: search for ‘{query}’" if query else "Register",
            "people": people,
            "strategies": strategies,
            "names": names,
            "q": query,
            "status": status,
            "restriction_lines": in_force_lines,
            "today": today,
            "awaiting": awaiting,
        },
    )


# --- people -------------------------------------------------------------------------------


def _adjustments_chosen(context: PageContext) -> list[str]:
    kinds = {k.value for k in AdjustmentKind}
    return [k for k in context.form.getall("reasonable_adjustments", []) if k in kinds]


@pages.get("/people/new", name="person-new", role=Role.manager)
async def person_new(context: PageContext) -> web.StreamResponse:
    return await _person_form(context, {}, [], None)


async def _person_form(
    context: PageContext,
    values: dict[str, Any],
    chosen: list[str],
    errors: FormErrors | None,
    status: int = 200,
    person: Person | None = None,
) -> web.Response:
    return await context.render(
        "person_form.html",
        {
            "title": "Change their details" if person else "Add a person",
            "person": person,
            "values": values,
            "chosen": chosen,
            "errors": errors,
            "page_errors": bool(errors),
            "adjustment_labels": {k.value: v for k, v in forms.ADJUSTMENT_LABELS.items()},
        },
        status=status,
    )


@pages.post("/people/new", name="person-create", role=Role.manager)
async def person_create(context: PageContext) -> web.StreamResponse:
    chosen = _adjustments_chosen(context)
    values = {k: v for k, v in context.form.items() if k != "csrf_token"}
    body = forms.person_body(context.form, chosen)
    services = context.services
    try:
        person_in = PersonIn.model_validate(body)
        person = await services.register.create_person(
            person_in, context.actor, services.clock.now()
        )
    except ValidationError as error:
        errors = forms.person_errors(forms.problems_of(error))
        return await _person_form(context, values, chosen, errors, 422)
    except Invalid as invalid:
        return await _person_form(
            context, values, chosen, forms.person_errors(invalid.problems), 422
        )
    except Conflict as error:
        errors = FormErrors()
        errors.add("phones", messages.duplicate_phone(body["phones"], error.message))
        return await _person_form(context, values, chosen, errors, 409)
    return await context.redirect(
        context.url("person", person_id=person.id), f"{person.name} was added to the register."
    )


@pages.get("/people/{person_id}", name="person", role=Role.manager)
async def person_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    now = services.clock.now()
    person = await services.register.person(
        context.request.match_info["person_id"], context.actor, now
    )
    strategies = await services.register.store.strategies_of(person.id)
    strategies.sort(key=lambda s: s.created_at, reverse=True)
    since = now - timedelta(weeks=CHART_WEEKS)
    calls = await services.call_log.calls(person_id=person.id, limit=10_000)
    records = calls.records
    recent = [r for r in records if r.received_at >= since]
    weekly = calls_per_week(recent, now, services.tz, CHART_WEEKS)
    chart = stacked_weeks_svg(
        weekly,
        f"Calls from {person.name} per week, last {CHART_WEEKS} weeks: connected and refused",
        "person-chart",
    )
    notes = await services.notes.of_person(context.actor, person.id)
    return await context.render(
        "person.html",
        {
            "title": person.name,
            "person": person,
            "strategies": strategies,
            "restriction_lines": in_force_lines,
            "chart": chart,
            "weekly": weekly,
            "calls_left_out": len(calls.left_out),
            "notes_left_out": len(notes.left_out),
            "timeline": person_timeline(strategies, records, notes),
            "today": services.register.today(now),
            "subject_access_requests": await services.subject_access.requests_of(person.id),
            # The log form's date starts as today.
            "subject_access_values": typed_dates.date_parts(
                "received_on", services.register.today(now)
            ),
            "adjustment_labels": forms.ADJUSTMENT_LABELS,
            "subject_access_status": lambda r: subject_access_status(
                r, services.register.today(now)
            ),
        },
    )


@pages.get("/people/{person_id}/export.json", name="person-export", role=Role.manager)
async def person_export(context: PageContext) -> web.StreamResponse:
    """Everything held on the person, for a subject access request (as the API's export)."""
    services = context.services
    person_id = context.request.match_info["person_id"]
    data = await services.subject_access.export(person_id, context.actor, services.clock.now())
    return web.json_response(
        data,
        dumps=lambda d: json.dumps(d, default=str, indent=2),
        headers={
            "Content-Disposition": f'attachment; filename="{person_id}.json"',
            "Cache-Control": "no-store",
        },
    )


# --- changing a person's details ----------------------------------------------------------


def _values_of(person: Person) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {
        "read_as": people.digest(person),
        "name": person.name,
        "phones": "\n".join(person.phones),
        "emails": "\n".join(person.emails),
    }
    for adjustment in person.reasonable_adjustments:
        values[f"reasonable_adjustments-{adjustment.kind.value}-detail"] = adjustment.detail or ""
    return values, [a.kind.value for a in person.reasonable_adjustments]


@pages.get("/people/{person_id}/change", name="person-change", role=Role.manager)
async def person_change(context: PageContext) -> web.StreamResponse:
    services = context.services
    person = await services.register.person(
        context.request.match_info["person_id"], context.actor, services.clock.now()
    )
    values, chosen = _values_of(person)
    return await _person_form(context, values, chosen, None, person=person)


@pages.post("/people/{person_id}/change", name="person-update", role=Role.manager)
async def person_update(context: PageContext) -> web.StreamResponse:
    services = context.services
    now = services.clock.now()
    person = await services.register.person(
        context.request.match_info["person_id"], context.actor, now
    )
    chosen = _adjustments_chosen(context)
    values = {k: v for k, v in context.form.items() if k != "csrf_token"}
    body = forms.person_body(context.form, chosen)
    try:
        patch = PersonPatch.model_validate(body)
        await people.update_person(
            # A form shown before the form held it (an upgrade meanwhile) is not checked.
            services.register,
            person.id,
            patch,
            context.actor,
            now,
            context.text("read_as") or None,
        )
    except people.ChangedMeanwhile:
        current = await services.register.store.get_person(person.id) or person
        values, chosen = _values_of(current)
        errors = FormErrors()
        errors.add("read_as", messages.CHANGED_MEANWHILE)
        return await _person_form(context, values, chosen, errors, 409, current)
    except ValidationError as error:
        errors = forms.person_errors(forms.problems_of(error))
        return await _person_form(context, values, chosen, errors, 422, person)
    except Invalid as invalid:
        errors = forms.person_errors(invalid.problems)
        return await _person_form(context, values, chosen, errors, 422, person)
    except people.PhoneHeld as error:
        errors = FormErrors()
        errors.add("phones", messages.duplicate_phone(body["phones"], error.message))
        return await _person_form(context, values, chosen, errors, 409, person)
    return await context.redirect(
        context.url("person", person_id=person.id), f"{body['name']}’s details were changed."
    )
