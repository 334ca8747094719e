"""File notes (§6.5), notifications and staff welfare (§5.5) (CONTRACT §4)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.notes import (
    Addendum,
    AddendumIn,
    FileNote,
    NoteCreateIn,
    NotePatchIn,
    Notification,
)
from callguard.domain.roles import Role, has_at_least
from callguard.domain.users import Actor
from callguard.services.notify import WelfareReport
from callguard.web.api import ApiRoutes, Offset, PagedSayingUnreadable, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class NoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["draft", "completed"] | None = None
    author: str | None = Field(default=None, max_length=64)
    offset: Offset = 0
    limit: int = Field(default=50, ge=1, le=500)


FileNotesPage = PagedSayingUnreadable[FileNote]


def _as_seen_by(actor: Actor, note: FileNote) -> FileNote:
    """Staff see a note without the person's id (CONTRACT §5: no person ids, routes or full
    numbers for staff; the caller's number in a note is masked already)."""
    if has_at_least(actor.role, Role.manager):
        return note
    return note.model_copy(update={"person_id": None})


@routes.route(
    "GET",
    "/api/v1/file-notes",
    role=Role.staff,
    summary="List file notes",
    query=NoteQuery,
    response=FileNotesPage,
)
async def list_file_notes(request: web.Request, actor: Actor, query: NoteQuery) -> web.Response:
    """Newest first. Staff see only their own notes; managers see all (``author`` filters)."""
    services = request.app[SERVICES]
    notes = await services.notes.listing(actor, query.status, query.author)
    page = [_as_seen_by(actor, n) for n in notes[query.offset : query.offset + query.limit]]
    await services.read_audit.record(
        actor,
        services.clock.now(),
        "file_note.list",
        "file_notes",
        [n.person_id for n in page],
        f"{len(page)} notes from {query.offset + 1}",
    )
    return json_response(
        FileNotesPage(
            items=page,
            total=len(notes),
            offset=query.offset,
            limit=query.limit,
            unreadable=len(notes.left_out),
        )
    )


@routes.route(
    "POST",
    "/api/v1/file-notes",
    role=Role.staff,
    summary="Start a file note for a call",
    body=NoteCreateIn,
    response=FileNote,
    status=201,
)
async def create_file_note(request: web.Request, actor: Actor, body: NoteCreateIn) -> web.Response:
    services = request.app[SERVICES]
    note = await services.notes.create(body, actor, services.clock.now())
    return json_response(_as_seen_by(actor, note), status=201)


@routes.route(
    "GET",
    "/api/v1/file-notes/{note_id}",
    role=Role.staff,
    summary="Read a file note",
    response=FileNote,
)
async def get_file_note(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    note = await services.notes.get(request.match_info["note_id"], actor, services.clock.now())
    return json_response(_as_seen_by(actor, note))


@routes.route(
    "PATCH",
    "/api/v1/file-notes/{note_id}",
    role=Role.staff,
    summary="Write or complete a file note",
    body=NotePatchIn,
    response=FileNote,
)
async def update_file_note(request: web.Request, actor: Actor, body: NotePatchIn) -> web.Response:
    """Saves the fields sent; ``"status": "completed"`` also completes the note, which needs
    summary, why_ended, actions_taken and line_manager_informed (422 names those missing).
    A completed note cannot be changed (409): add an addendum."""
    services = request.app[SERVICES]
    note = await services.notes.update(
        request.match_info["note_id"], body, actor, services.clock.now()
    )
    return json_response(_as_seen_by(actor, note))


@routes.route(
    "POST",
    "/api/v1/file-notes/{note_id}/addenda",
    role=Role.staff,
    summary="Add an addendum to a file note",
    body=AddendumIn,
    response=Addendum,
    status=201,
)
async def add_file_note_addendum(
    request: web.Request, actor: Actor, body: AddendumIn
) -> web.Response:
    services = request.app[SERVICES]
    addendum = await services.notes.add_addendum(
        request.match_info["note_id"], body, actor, services.clock.now()
    )
    return json_response(addendum, status=201)


@routes.route(
    "POST",
    "/api/v1/file-notes/{note_id}/sign-off",
    role=Role.manager,
    summary="Sign off a completed file note",
    response=FileNote,
)
async def sign_off_file_note(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    note = await services.notes.sign_off(request.match_info["note_id"], actor, services.clock.now())
    return json_response(note)


class NotificationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unread: bool = False
    limit: int = Field(default=50, ge=1, le=500)


class NotificationsPage(BaseModel):
    items: list[Notification]


@routes.route(
    "GET",
    "/api/v1/notifications",
    role=Role.staff,
    summary="List my notifications",
    query=NotificationQuery,
    response=NotificationsPage,
)
async def list_notifications(
    request: web.Request, actor: Actor, query: NotificationQuery
) -> web.Response:
    items = await request.app[SERVICES].notifier.of_user(actor.name, query.unread, query.limit)
    return json_response(NotificationsPage(items=items))


@routes.route(
    "POST",
    "/api/v1/notifications/{notification_id}/read",
    role=Role.staff,
    summary="Mark a notification read",
    response=Notification,
)
async def read_notification(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    notification = await services.notifier.mark_read(
        actor.name, request.match_info["notification_id"], services.clock.now()
    )
    return json_response(notification)


class WelfareQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weeks: int = Field(default=8, ge=1, le=53)


@routes.route(
    "GET",
    "/api/v1/welfare",
    role=Role.manager,
    summary="Read staff welfare counts",
    query=WelfareQuery,
    response=WelfareReport,
)
async def welfare(request: web.Request, actor: Actor, query: WelfareQuery) -> web.Response:
    """Per member of staff and office-local ISO week (newest first): the calls they warned
    on or ended, and whether the week's welfare alert went to their line manager (§5.5)."""
    services = request.app[SERVICES]
    return json_response(await services.notifier.welfare_report(services.clock.now(), query.weeks))
