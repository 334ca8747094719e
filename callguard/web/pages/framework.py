"""A small route registry for the server-rendered pages, like ``callguard.web.api`` for JSON.

Each page declares its method, path, name and least role. The wrapper finds who is signed
in (a session, or the single-sign-on proxy), sends the signed-out to the sign-in page,
answers 403 to a role without the right, checks the CSRF token on every unsafe request
(403 without it), and turns a use case's failure into a page that says what went wrong.
Pages carry personal data, so none is cached.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from callguard.domain.roles import Role, has_at_least
from callguard.domain.users import Actor, Session
from callguard.services.container import Services
from callguard.services.errors import (
    STORE_UNAVAILABLE,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    Unreadable,
    unreadable_conflict,
)
from callguard.web import csrf
from callguard.web.appkeys import SERVICES
from callguard.web.form_body import FormUnreadable, posted_form
from callguard.web.pages.assets import ASSETS
from callguard.web.sessions import web_auth

log = logging.getLogger("callguard.web.pages")

MAX_FORM_BYTES = 256 * 1024
ERROR_FLASH = "error:"  # a stored message for the next page that says what was not done
NOT_FOUND_ADVICE = (
    "If you typed the web address, check it is correct. If you pasted the web address, "
    "check you copied the entire address. If you followed a link, what it pointed to may "
    "have been removed."
)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class PageContext:
    """What a page handler gets: who is acting, their session, the services, the form."""

    request: web.Request
    session: Session
    services: Services
    form: MultiDictProxy[str] = field(default_factory=lambda: MultiDictProxy(MultiDict()))
    _staff_names: dict[str, str] | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        return Actor(name=self.session.user, role=self.session.role)

    def url(self, route: str, /, query: Mapping[str, str] | None = None, **parts: str) -> str:
        path = str(self.request.app.router[route].url_for(**parts))
        return path + ("?" + urlencode(query) if query else "")

    async def render(
        self, template: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> web.Response:
        taken = await web_auth(self.request).sessions.take_flashes(self.session.id)
        errors = [{"text": f.removeprefix(ERROR_FLASH)} for f in taken if f.startswith(ERROR_FLASH)]
        return render(
            self.request,
            template,
            {
                "flashes": [f for f in taken if not f.startswith(ERROR_FLASH)],
                "flash_errors": errors,
                **({"page_errors": True} if errors else {}),
                "staff_names": await self.staff_names(),
                **(context or {}),
            },
            session=self.session,
            status=status,
        )

    async def staff_names(self) -> dict[str, str]:
        """User name -> full name, for every user: the pages name staff by their full names
        (the ``staff`` filter). Read once a request, however many parts ask."""
        if self._staff_names is None:
            users = await self.services.users.list_users()
            self._staff_names = {u.name: u.full_name for u in users}
        return self._staff_names

    async def staff_name(self, user_name: str) -> str:
        """One member of staff by their full name, for words built in a handler; someone
        with no account now by the user name the record holds."""
        return (await self.staff_names()).get(user_name, user_name)

    async def redirect(
        self, location: str, flash: str | None = None, *, error: str | None = None
    ) -> web.Response:
        """303 See Other after a post, with a message for the next page: ``flash`` when it
        was done (a success banner), ``error`` when it was not (an error summary: "There is
        a problem")."""
        for message in (flash, ERROR_FLASH + error if error else None):
            if message:
                await web_auth(self.request).sessions.flash(self.session.id, message)
        return web.Response(status=303, headers={"Location": location})

    async def back_to(self, location: str, error: str) -> NoReturn:
        """Send the person to ``location`` at once, its error summary saying ``error``."""
        await web_auth(self.request).sessions.flash(self.session.id, ERROR_FLASH + error)
        raise web.HTTPSeeOther(location)

    def text(self, name: str, default: str = "") -> str:
        return self.form.get(name, default).strip()


PageHandler = Callable[[PageContext], Awaitable[web.StreamResponse]]


def nav_for(role: Role | None) -> list[tuple[str, str]]:
    """The service navigation: (route name, label) for what this role may open."""
    if role is None:
        return []
    if role is Role.admin:
        return [("admin-users", "Users"), ("admin-tokens", "API tokens")]
    items = [("console", "Console")]
    if has_at_least(role, Role.manager):
        items += [
            ("manage", "Overview"),
            ("people", "Register"),
            ("calls", "Call log"),
            ("preview-page", "Preview"),
            ("oversight", "Oversight"),
            ("appeals", "Appeals"),
            ("subject-access", "Subject access"),
        ]
    return items


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None,
    status: int = 200,
) -> web.Response:
    base: dict[str, Any] = {
        "session": session,
        "role": session.role.value if session else None,
        "csrf_token": session.csrf if session else "",
        "nav": nav_for(session.role if session else None),
        "current_route": request.match_info.route.name if request.match_info.route else None,
        "assets": request.app[ASSETS],
        "policy": request.app[SERVICES].policy,
        "flashes": [],
        "flash_errors": [],
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def error_page(
    request: web.Request, status: int, title: str, message: str, session: Session | None
) -> web.Response:
    names = await _signed_in_name(request, session) if status != 503 else {}
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status": status, "staff_names": names},
        session=session,
        status=status,
    )


async def _signed_in_name(request: web.Request, session: Session | None) -> dict[str, str]:
    """The signed-in person by their full name, for the page's "Signed in as"; by their user
    name when the store cannot say (not asked at all when the store is the error)."""
    if session is None:
        return {}
    try:
        user = await request.app[SERVICES].users.get_user(session.user)
    except STORE_UNAVAILABLE:
        return {}
    return {session.user: user.full_name} if user is not None else {}


def allowed(role: Role, needed: Role | None, also: tuple[Role, ...]) -> bool:
    return needed is None or has_at_least(role, needed) or role in also


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str
    name: str
    role: Role | None
    handler: PageHandler
    also: tuple[Role, ...] = ()


@dataclass
class Pages:
    routes: list[PageRoute] = field(default_factory=list)

    def route(
        self, method: str, path: str, *, name: str, role: Role | None, also: tuple[Role, ...] = ()
    ) -> Callable[[PageHandler], PageHandler]:
        def register(handler: PageHandler) -> PageHandler:
            self.routes.append(PageRoute(method, path, name, role, handler, also))
            return handler

        return register

    def get(
        self, path: str, *, name: str, role: Role | None, also: tuple[Role, ...] = ()
    ) -> Callable[[PageHandler], PageHandler]:
        return self.route("GET", path, name=name, role=role, also=also)

    def post(
        self, path: str, *, name: str, role: Role | None, also: tuple[Role, ...] = ()
    ) -> Callable[[PageHandler], PageHandler]:
        return self.route("POST", path, name=name, role=role, also=also)

    def install(self, app: web.Application) -> None:
        for route in self.routes:
            app.router.add_route(route.method, route.path, _wrap(route), name=route.name)


async def _form(request: web.Request) -> MultiDictProxy[str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_FORM_BYTES, actual_size=request.content_length
        )
    raw = await read_form(request)
    return MultiDictProxy(MultiDict((k, v) for k, v in raw.items() if isinstance(v, str)))


async def read_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The posted form; one that cannot be read is a 400 that says so in words."""
    try:
        return await posted_form(request)
    except FormUnreadable:
        raise web.HTTPBadRequest(
            text="The form could not be read. Go back to the page and try again."
        ) from None


def _sign_in_location(request: web.Request) -> str:
    target = request.path_qs if request.method == "GET" else "/"
    return "/sign-in?" + urlencode({"next": target})


def _wrap(route: PageRoute) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        auth = web_auth(request)
        session, new_cookie = await auth.current(request)
        if session is None:
            raise web.HTTPSeeOther(_sign_in_location(request))
        if not allowed(session.role, route.role, route.also):
            return await error_page(
                request,
                403,
                "You do not have access to this page",
                f"Your role ({session.role.value.replace('_', ' ')}) cannot open this page. "
                "Ask your manager or an administrator if you need it.",
                session,
            )
        context = PageContext(request, session, request.app[SERVICES])
        if request.method in UNSAFE:
            context.form = await _form(request)
            try:
                csrf.check(request, session.csrf, context.form.get(csrf.FIELD))
            except csrf.CsrfRejected:
                return await csrf_refused(request, session)
        try:
            response = await route.handler(context)
        except web.HTTPException:
            raise
        except Exception as error:
            response = await failure_page(request, error, session)
        if new_cookie:
            auth.set_cookie(response, session)
        return response

    handle.__name__ = route.handler.__name__
    return handle


async def csrf_refused(request: web.Request, session: Session | None) -> web.Response:
    return await error_page(
        request,
        403,
        "This form has expired",
        "The form was sent without its security token, so nothing was changed. "
        "Go back, reload the page and try again.",
        session,
    )


async def failure_page(
    request: web.Request, error: Exception, session: Session | None
) -> web.Response:
    """The page for a request that failed, saying what went wrong and what to do: a use
    case's failure, a record a later release wrote (a plain 409), the store out of reach
    (503) or anything else (500, logged with its traceback). ``session`` is None when the
    failure came before anyone was known to be signed in."""
    if isinstance(error, Unreadable):
        return await _service_error_page(request, unreadable_conflict(error), session)
    if isinstance(error, ServiceError):
        return await _service_error_page(request, error, session)
    if isinstance(error, STORE_UNAVAILABLE):
        log.error("store unavailable on %s %s", request.method, request.path, exc_info=error)
        return await error_page(
            request,
            503,
            "Sorry, CallGuard cannot reach its store",
            "Nothing was changed. Try again in a minute.",
            session,
        )
    log.error("unexpected failure on %s %s", request.method, request.path, exc_info=error)
    return await error_page(
        request,
        500,
        "Sorry, there is a problem with CallGuard",
        "Nothing more was changed. Try again, and tell an administrator if it goes on.",
        session,
    )


async def _service_error_page(
    request: web.Request, error: ServiceError, session: Session | None
) -> web.Response:
    if isinstance(error, NotFound):  # its message names what was looked for by its id
        return await error_page(request, 404, "Page not found", NOT_FOUND_ADVICE, session)
    if isinstance(error, Forbidden):
        return await error_page(request, 403, "You cannot do this", error.message, session)
    if isinstance(error, Conflict):
        return await error_page(request, 409, "This could not be done", error.message, session)
    if isinstance(error, Invalid):
        return await error_page(request, 422, "There is a problem", error.message, session)
    return await error_page(request, error.status, "Something went wrong", error.message, session)
