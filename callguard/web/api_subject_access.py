"""Subject access (UK GDPR Art. 15): the export of everything held on a person, and the
tracker of requests and their one-month deadline (CONTRACT §7)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, RootModel

from callguard.domain.models import Person
from callguard.domain.roles import Role
from callguard.domain.subject_access import (
    SubjectAccessCompleteIn,
    SubjectAccessIn,
    SubjectAccessRequest,
)
from callguard.domain.users import Actor
from callguard.web.api import ApiRoutes, json_response
from callguard.web.appkeys import SERVICES

routes = ApiRoutes()


class PersonExport(BaseModel):
    model_config = ConfigDict(extra="allow")
    person: Person


RequestList = RootModel[list[SubjectAccessRequest]]


@routes.route(
    "GET",
    "/api/v1/people/{person_id}/export",
    role=Role.manager,
    summary="Export everything held on a person",
    response=PersonExport,
)
async def export_person(request: web.Request, actor: Actor) -> web.Response:
    services = request.app[SERVICES]
    data = await services.subject_access.export(
        request.match_info["person_id"], actor, services.clock.now()
    )
    return json_response(data)


@routes.route(
    "POST",
    "/api/v1/people/{person_id}/subject-access-requests",
    role=Role.manager,
    summary="Log a subject access request",
    body=SubjectAccessIn,
    response=SubjectAccessRequest,
    status=201,
)
async def log_subject_access(
    request: web.Request, actor: Actor, body: SubjectAccessIn
) -> web.Response:
    services = request.app[SERVICES]
    logged = await services.subject_access.log_request(
        request.match_info["person_id"], body, actor, services.clock.now()
    )
    return json_response(logged, 201)


@routes.route(
    "GET",
    "/api/v1/people/{person_id}/subject-access-requests",
    role=Role.manager,
    summary="List a person's subject access requests",
    response=RequestList,
)
async def person_subject_access(request: web.Request, actor: Actor) -> web.Response:
    found = await request.app[SERVICES].subject_access.requests_of(request.match_info["person_id"])
    return json_response(RequestList(found))


@routes.route(
    "GET",
    "/api/v1/subject-access-requests",
    role=Role.manager,
    summary="List subject access requests",
    response=RequestList,
)
async def list_subject_access(request: web.Request, actor: Actor) -> web.Response:
    return json_response(RequestList(await request.app[SERVICES].subject_access.all_requests()))


@routes.route(
    "POST",
    "/api/v1/subject-access-requests/{request_id}/completed",
    role=Role.manager,
    summary="Mark a subject access request completed",
    body=SubjectAccessCompleteIn,
    response=SubjectAccessRequest,
)
async def complete_subject_access(
    request: web.Request, actor: Actor, body: SubjectAccessCompleteIn
) -> web.Response:
    services = request.app[SERVICES]
    done = await services.subject_access.complete(
        request.match_info["request_id"], body, actor, services.clock.now()
    )
    return json_response(done)
