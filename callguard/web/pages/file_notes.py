"""A file note's page (§6.5): the author completes the draft the end of a call made, anyone
may add an addendum to a completed note, and a manager other than the author signs it off.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.notes import AddendumIn, FileNote, NotePatchIn
from callguard.domain.roles import Role, has_at_least
from callguard.services.errors import Invalid
from callguard.web.pages import messages
from callguard.web.pages.forms import FormErrors, place, problems_of
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()

NOTE_IDS = ("summary", "why_ended", "actions_taken", "line_manager_informed")
NOTE_LABELS = {
    "summary": "What was said or done",
    "why_ended": "Why the call was ended",
    "actions_taken": "Other actions taken",
    "line_manager_informed": "Line manager told",
}


def _note_values(note: FileNote) -> dict[str, str]:
    return {
        "summary": note.summary or "",
        "why_ended": note.why_ended or "",
        "actions_taken": note.actions_taken or "",
        "line_manager_informed": "yes" if note.line_manager_informed else "",
    }


async def _note_page(
    context: PageContext,
    note: FileNote,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> web.Response:
    actor = context.actor
    record = await context.services.calls.get(note.call_sid)
    return await context.render(
        "note.html",
        {
            "title": "File note",
            "note": note,
            "record": record,
            "values": values if values is not None else _note_values(note),
            "errors": errors,
            "page_errors": bool(errors),
            "labels": NOTE_LABELS,
            "reason_label": note.reason_label,
            "policy_reasons": context.services.policy.reasons,
            "may_sign_off": has_at_least(actor.role, Role.manager)
            and note.status == "completed"
            and note.signed_off is None
            and note.author != actor.name,
            "may_write": note.author == actor.name and note.status == "draft",
            "now": context.services.clock.now(),
            "tz": context.services.tz,
        },
        status=status,
    )


@pages.get("/notes/{note_id}", name="note", role=Role.staff)
async def note_page(context: PageContext) -> web.StreamResponse:
    services = context.services
    note = await services.notes.get(
        context.request.match_info["note_id"], context.actor, services.clock.now()
    )
    return await _note_page(context, note)


@pages.post("/notes/{note_id}", name="note-save", role=Role.staff)
async def note_save(context: PageContext) -> web.StreamResponse:
    services = context.services
    note_id = context.request.match_info["note_id"]
    complete = context.text("action") == "complete"
    values = {name: context.form.get(name, "") for name in NOTE_IDS}
    raw: dict[str, Any] = {
        name: values[name].strip() or None for name in ("summary", "why_ended", "actions_taken")
    }
    raw = {k: v for k, v in raw.items() if v is not None}
    if values["line_manager_informed"] == "yes":
        raw["line_manager_informed"] = True
    if complete:
        raw["status"] = "completed"
    now = services.clock.now()
    errors: FormErrors | None = None
    try:
        body = NotePatchIn.model_validate(raw)
        note = await services.notes.update(note_id, body, context.actor, now)
    except ValidationError as error:
        errors = place(problems_of(error), NOTE_IDS, labels=NOTE_LABELS)
    except Invalid as invalid:
        errors = place(
            [(f, _note_reason(f, r)) for f, r in invalid.problems], NOTE_IDS, labels=NOTE_LABELS
        )
    if errors:
        current = await services.notes.get(note_id, context.actor, now)
        return await _note_page(context, current, values=values, errors=errors, status=422)
    message = "File note completed." if complete else "Draft saved."
    if complete:
        return await context.redirect(context.url("console"), message)
    return await context.redirect(context.url("note", note_id=note.id), message)


def _note_reason(field: str, reason: str) -> str:
    if field == "line_manager_informed" and reason == "required to complete the note":
        return "Tick to confirm you have told your line manager, to complete the note"
    if reason == "required to complete the note":
        return f"Enter {NOTE_LABELS.get(field, field).lower()} to complete the note"
    return reason


@pages.post("/notes/{note_id}/addenda", name="note-addendum", role=Role.staff)
async def note_addendum(context: PageContext) -> web.StreamResponse:
    services = context.services
    note_id = context.request.match_info["note_id"]
    now = services.clock.now()
    try:
        body = AddendumIn.model_validate({"text": context.form.get("addendum", "")})
    except ValidationError as invalid:
        note = await services.notes.get(note_id, context.actor, now)
        errors = FormErrors()
        [item] = invalid.errors(include_url=False)[:1]
        errors.add("addendum", messages.words_for_error(item, "addendum"))
        return await _note_page(context, note, errors=errors, status=422)
    await services.notes.add_addendum(note_id, body, context.actor, now)
    return await context.redirect(context.url("note", note_id=note_id), "Addendum added.")


@pages.post("/notes/{note_id}/sign-off", name="note-sign-off", role=Role.manager)
async def note_sign_off(context: PageContext) -> web.StreamResponse:
    services = context.services
    note_id = context.request.match_info["note_id"]
    await services.notes.sign_off(note_id, context.actor, services.clock.now())
    return await context.redirect(context.url("notes"), "File note signed off.")
