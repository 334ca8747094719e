"""The staff console: live calls with the caller alert and the two buttons (§6.4), my file
notes to complete (§6.5), and callers' messages to triage (§3.10).

The live list updates without a reload: ``console.js`` polls ``/console/live.json``, sending
the cards it already shows (``have=sid:version,...``); the answer carries only new or
changed cards, rendered by the same template as the page, and the sids still live. Reading
a caller alert is audited, so an unchanged card is never read again just to be redrawn.
Without JavaScript every form still posts and the page reloads with the result.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import ValidationError

from callguard import wording
from callguard.domain.models import AdjustmentKind
from callguard.domain.records import CallRecord
from callguard.domain.roles import Role
from callguard.phones import mask_phone
from callguard.services.call_log import CallPage
from callguard.services.controls import CallerAlert
from callguard.services.errors import Conflict, ServiceError
from callguard.web.api_call_log import TRIAGE_NOTES_MAX, TriageIn
from callguard.web.pages.demo import demo_caller_ref, is_demo
from callguard.web.pages.forms import ADJUSTMENT_LABELS
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.words import TRIAGE_LABELS

pages = Pages()

POLL_INTERVAL_MS = 3000
MESSAGES_SHOWN = 20


def card_version(record: CallRecord) -> str:
    """Changes whenever what the card shows changes."""
    seen = [
        record.status,
        len(record.warnings),
        record.ended is not None,
        bool(record.conference_sid),
        record.new_matter_claimed,
    ]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:12]


async def _live_records(context: PageContext) -> tuple[list[CallRecord], dict[str, str]]:
    """The live calls, oldest first; and the part of the page that says how many could not
    be shown: one this release cannot read (a later release wrote it) is logged and left
    out, and the console stays up for every other call."""
    sids = await context.services.calls.live_sids()
    records, unreadable = await context.services.calls.read_many(sids)
    live = [r for r in records if r.in_progress]
    left_out = _render_part(context, "_console_left_out.html", {"left_out": len(unreadable)})
    return sorted(live, key=lambda r: r.received_at), left_out


async def _alert(context: PageContext, record: CallRecord) -> CallerAlert:
    return await context.services.controls.alert(
        record.call_sid, context.actor, context.services.clock.now()
    )


def _card_context(
    context: PageContext, record: CallRecord, alert: CallerAlert, staff_names: dict[str, str]
) -> dict[str, Any]:
    return {
        "staff_names": staff_names,
        "record": record,
        "alert": alert,
        "version": card_version(record),
        "csrf_token": context.session.csrf,
        "demo": is_demo(context.request.app),
        "policy": context.services.policy,
        "adjustment_labels": ADJUSTMENT_LABELS,
        # The interpreter is shown on its own line, in words: not again among these.
        "adjustments": [
            a
            for a in alert.reasonable_adjustments
            if not (alert.interpreter and a.kind is AdjustmentKind.needs_interpreter)
        ],
        "reason_labels": {r.code: r.label for r in alert.reasons},
    }


def _render_card(
    context: PageContext, record: CallRecord, alert: CallerAlert, staff_names: dict[str, str]
) -> str:
    """A live call's card (``staff_names``: ``PageContext.staff_names``, read once a page)."""
    env = aiohttp_jinja2.get_env(context.request.app)
    template = env.get_template("_live_call.html")
    values = _card_context(context, record, alert, staff_names)
    return template.render(**values, app=context.request.app)


async def _messages(context: PageContext) -> CallPage:
    return await context.services.call_log.messages(limit=MESSAGES_SHOWN)


def _render_part(context: PageContext, template: str, values: dict[str, Any]) -> dict[str, str]:
    """A section of the console as HTML, with a version that changes when the HTML does."""
    env = aiohttp_jinja2.get_env(context.request.app)
    html = env.get_template(template).render(
        **values,
        csrf_token=context.session.csrf,
        policy=context.services.policy,
        now=context.services.clock.now(),
        app=context.request.app,
    )
    return {"version": hashlib.sha256(html.encode()).hexdigest()[:12], "html": html}


async def _notes_part(context: PageContext) -> dict[str, str]:
    notes = await context.services.notes.listing(context.actor, "draft", context.actor.name)
    return _render_part(
        context,
        "_console_notes.html",
        {"notes": sorted(notes, key=lambda n: n.due_at), "left_out": len(notes.left_out)},
    )


async def _messages_part(context: PageContext) -> dict[str, str]:
    messages = await _messages(context)
    return _render_part(
        context,
        "_console_messages.html",
        {
            "messages": messages.records,
            "messages_total": messages.total,
            "left_out": len(messages.left_out),
            "triage_labels": TRIAGE_LABELS,
            "mask": mask_phone,
        },
    )


@pages.get("/console", name="console", role=Role.staff)
async def console(context: PageContext) -> web.StreamResponse:
    records, left_out = await _live_records(context)
    names = await context.staff_names()
    cards = [
        {"sid": r.call_sid, "version": card_version(r), "html": _render_card(context, r, a, names)}
        for r in records
        for a in [await _alert(context, r)]
    ]
    demo = is_demo(context.request.app)
    return await context.render(
        "console.html",
        {
            "title": "Staff console",
            "cards": cards,
            "left_out_part": left_out,
            "notes_part": await _notes_part(context),
            "messages_part": await _messages_part(context),
            "poll_ms": POLL_INTERVAL_MS,
            "demo": demo,
            "demo_people": await _demo_numbers(context) if demo else [],
        },
    )


SIMULATE_PEOPLE_SHOWN = 500


async def _demo_numbers(context: PageContext) -> list[tuple[str, str]]:
    """Every person in the register with a phone, each of their numbers (masked: the form
    sends which person and which of their numbers, never the number itself); then a caller
    the register does not know, and the demo advocate."""
    people, _total = await context.services.register.store.list_people(0, SIMULATE_PEOPLE_SHOWN)
    options = [
        (demo_caller_ref(person.id, index), f"{person.name} — {mask_phone(phone)}")
        for person in sorted(people, key=lambda p: p.name.casefold())
        for index, phone in enumerate(person.phones)
    ]
    return [
        *options,
        ("07700 900999", "Someone with no contact strategy — 07700 900999"),
        ("07700 900205", "Eli Advocate's advocate — 07700 900205"),
    ]


@pages.get("/console/live.json", name="console-live", role=Role.staff)
async def live_json(context: PageContext) -> web.StreamResponse:
    have: dict[str, str] = {}
    for item in context.request.query.get("have", "").split(",")[:200]:
        sid, _, version = item.partition(":")
        if sid and version:
            have[sid] = version
    records, left_out = await _live_records(context)
    changed = []
    for record in records:
        version = card_version(record)
        if have.get(record.call_sid) == version:
            continue
        alert = await _alert(context, record)
        names = await context.staff_names()  # read once, when a card has changed
        changed.append(
            {
                "sid": record.call_sid,
                "version": version,
                "html": _render_card(context, record, alert, names),
            }
        )
    body: dict[str, Any] = {"live": [r.call_sid for r in records], "changed": changed}
    # Calls left out, the file notes and messages beneath: each when it differs from what
    # the page shows.
    for name, part in (
        ("left_out", left_out),
        ("notes", await _notes_part(context)),
        ("messages", await _messages_part(context)),
    ):
        if part["version"] != context.request.query.get(name):
            body[name] = part
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def _control_result(
    context: PageContext, ok: bool, message: str, status: int, extra: dict[str, str] | None = None
) -> web.StreamResponse:
    message = wording.sentence(message)  # the services' reasons begin in lower case
    if _wants_json(context.request):
        return web.json_response({"ok": ok, "message": message, **(extra or {})}, status=status)
    if ok:
        return await context.redirect("/console", message)
    return await context.redirect("/console", error=message)


def _reason_label(context: PageContext, code: str) -> str:
    reason = context.services.policy.reasons.get(code)
    return reason.label if reason else code


@pages.post("/console/calls/{call_sid}/warning", name="console-warn", role=Role.staff)
async def warn(context: PageContext) -> web.StreamResponse:
    call_sid = context.request.match_info["call_sid"]
    code = context.text("reason")
    if code not in context.services.policy.reasons:  # none chosen, or not one of the list
        return await _control_result(context, False, "Choose the reason for the warning", 422)
    try:
        given = await context.services.controls.warn(
            call_sid, code, context.actor, context.services.clock.now()
        )
    except ServiceError as error:
        return await _control_result(context, False, error.message, error.status)
    reason = context.services.policy.reasons[code]
    return await _control_result(
        context,
        True,
        f"Warning played to the caller ({reason.label}; warning {given.warnings_in_call} "
        f"in this call). They heard: “{reason.warning}”",
        201,
    )


@pages.post("/console/calls/{call_sid}/end", name="console-end", role=Role.staff)
async def end(context: PageContext) -> web.StreamResponse:
    call_sid = context.request.match_info["call_sid"]
    code = context.text("reason")
    if code not in context.services.policy.reasons:
        return await _control_result(context, False, "Choose the reason for ending the call", 422)
    try:
        ended = await context.services.controls.end(
            call_sid, code, context.actor, context.services.clock.now()
        )
    except ServiceError as error:
        return await _control_result(context, False, error.message, error.status)
    told = (
        f"{await context.staff_name(ended.line_manager)} has been told"
        if ended.line_manager
        else "you have no line manager on record: tell your manager yourself"
    )
    closing = (
        "The caller heard the closing statement and the call has ended."
        if ended.closing_statement_sent
        else "The phone system did not play the closing statement: hang up your handset now."
    )
    note_url = context.url("note", note_id=ended.file_note_id)
    return await _control_result(
        context,
        True,
        f"Call ended ({_reason_label(context, code)}). {closing} A draft file note is "
        f"ready for you to complete; {told}.",
        200,
        {"note_url": note_url, "file_note_id": ended.file_note_id},
    )


# --- messages -----------------------------------------------------------------------------


@pages.get("/console/messages/{call_sid}/recording.wav", name="message-recording", role=Role.staff)
async def message_recording(context: PageContext) -> web.StreamResponse:
    """The message a refused caller left, to listen to before triage (§3.10): fetched from
    the phone system with the account's credentials, never linked to it directly; each
    listen is audited as a read of the caller's data."""
    services = context.services
    call_sid = context.request.match_info["call_sid"]
    now = services.clock.now()
    record, audio = await services.call_events.message_audio(call_sid, now)
    response = _audio_part(context.request, audio)
    if response.status == 200 or response.headers["Content-Range"].startswith("bytes 0-"):
        # Once a listen: a player's later requests for parts of it (to seek) are not new ones.
        await services.read_audit.record(
            context.actor, now, "call.message.listen", call_sid, [record.person_id]
        )
    return response


def _audio_part(request: web.Request, audio: bytes) -> web.Response:
    """The sound, or the part of it a player asks for (a Range: Safari plays nothing from a
    server that cannot give parts, and every player seeks so)."""
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": "inline",
        "Accept-Ranges": "bytes",
    }
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(None, None)  # a Range this server does not read: the whole of it
    if wanted.start is None and wanted.stop is None:
        return web.Response(body=audio, content_type="audio/wav", headers=headers)
    start, stop, _ = wanted.indices(len(audio))
    if start >= len(audio) or start >= stop:
        headers["Content-Range"] = f"bytes */{len(audio)}"
        return web.Response(status=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(audio)}"
    return web.Response(
        status=206, body=audio[start:stop], content_type="audio/wav", headers=headers
    )


@pages.post("/console/messages/{call_sid}/triage", name="console-triage", role=Role.staff)
async def triage(context: PageContext) -> web.StreamResponse:
    """As ``POST /api/v1/calls/{sid}/message/triage``: the same model and the same steps."""
    services = context.services
    call_sid = context.request.match_info["call_sid"]
    record = await services.call_events.get(call_sid)
    if record.message is None:
        return await context.redirect(context.url("console"), error="That call has no message")
    which = f"the message from {mask_phone(record.from_)}"
    try:
        body = TriageIn.model_validate(
            {"outcome": context.text("outcome"), "notes": context.text("notes")}
        )
    except ValidationError as invalid:
        fields = {str(item["loc"][0]) for item in invalid.errors()}
        problem = (
            f"Choose what {which} turned out to be"
            if "outcome" in fields
            else f"The notes on {which} must be {TRIAGE_NOTES_MAX:,} characters or fewer"
        )
        return await context.redirect(context.url("console"), error=problem)
    try:
        await services.call_log.triage(call_sid, body.outcome, body.notes, context.actor.name)
    except Conflict:  # someone else triaged it first: theirs stands
        kept = await services.call_events.get(call_sid)
        triage = kept.message.triage if kept.message else None
        said = (
            f"{await context.staff_name(triage.by)} had already triaged {which}: "
            f"{TRIAGE_LABELS[triage.outcome].lower()}. Nothing was changed"
            if triage
            else f"Someone had already triaged {which}. Nothing was changed"
        )
        return await context.redirect(context.url("console"), error=said)
    return await context.redirect(
        context.url("console"), f"Message triaged: {TRIAGE_LABELS[body.outcome]}."
    )
