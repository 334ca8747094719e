"""Sign-in, sign-out, and the start page each role lands on."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from callguard.domain.roles import Role, has_at_least
from callguard.services.errors import Unreadable
from callguard.urls import safe_local_path
from callguard.web import csrf
from callguard.web.appkeys import SERVICES
from callguard.web.pages.forms import FormErrors
from callguard.web.pages.framework import (
    PageContext,
    Pages,
    csrf_refused,
    read_form,
    render,
)
from callguard.web.sessions import LOGIN_CSRF_COOKIE, web_auth

log = logging.getLogger("callguard.web.auth")

pages = Pages()
routes = web.RouteTableDef()

MAX_NAME = 64
# User names (CONTRACT §5): letters, digits, ".", "_" and "-".
USER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_PASSWORD = 256


def start_page(role: Role) -> str:
    if role is Role.admin:
        return "/admin/users"
    if has_at_least(role, Role.manager):
        return "/manage"
    return "/console"


def _safe_next(target: str) -> str | None:
    """Only a path on this site, never another host (an open redirect), nor sign-in again
    (see ``callguard.urls.safe_local_path``)."""
    return safe_local_path(target, refuse=("/sign-in", "/sign-out"))


async def _sign_in_page(
    request: web.Request,
    *,
    errors: FormErrors | None = None,
    username: str = "",
    status: int = 200,
) -> web.Response:
    auth = web_auth(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or csrf.new_token()
    response = render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "errors": errors,
            "page_errors": bool(errors),
            "values": {"username": username},
            "signin_token": token,
            "next": _safe_next(request.query.get("next", "")) or "",
            "sso_header": auth.settings.sso_header,
            "max_failures": auth.throttle.max_failures,
            "flashes": ["You have signed out."] if "signed-out" in request.query else [],
        },
        session=None,
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=auth.secure_cookies,
        path="/sign-in",
    )
    return response


@routes.get("/sign-in", name="signin")
async def sign_in_form(request: web.Request) -> web.StreamResponse:
    try:
        session, new_cookie = await web_auth(request).current(request)
    except Unreadable:  # an account another version saved: anyone may sign in instead
        session, new_cookie = None, False
    if session is not None:
        response = web.Response(status=303, headers={"Location": start_page(session.role)})
        if new_cookie:
            web_auth(request).set_cookie(response, session)
        return response
    return await _sign_in_page(request)


@routes.post("/sign-in", name="signin-post")
async def sign_in(request: web.Request) -> web.StreamResponse:
    auth = web_auth(request)
    services = request.app[SERVICES]
    form = await read_form(request)
    token = form.get(csrf.FIELD)
    if not csrf.same(
        request.cookies.get(LOGIN_CSRF_COOKIE, ""), token if isinstance(token, str) else None
    ):
        return await csrf_refused(request, None)
    given_name = str(form.get("username", "")).strip()
    username = given_name[:MAX_NAME]
    password = str(form.get("password", ""))[:MAX_PASSWORD]
    errors = FormErrors()
    if not username:
        errors.add("username", "Enter your user name")
    if not password:
        errors.add("password", "Enter your password")
    if errors:
        return await _sign_in_page(request, errors=errors, username=username, status=400)
    if not USER_NAME.fullmatch(given_name):
        # No such user can exist: refused like a wrong password, and nothing is read
        # (``sam:password`` would otherwise name another key).
        errors.add("password", "The user name or password is not right")
        return await _sign_in_page(request, errors=errors, username=username, status=401)
    now = services.clock.now()
    # Reserved before the (slow) password check, so a burst cannot outrun the count.
    locked_s = await auth.throttle.reserve(username, now)
    if locked_s:
        minutes = max(1, (locked_s + 59) // 60)
        errors.add(
            "username",
            f"This account is locked after too many wrong passwords. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an administrator to unlock it",
        )
        log.warning("sign-in refused: %s is locked", username)
        return await _sign_in_page(request, errors=errors, username=username, status=429)
    verified = await services.users.verify_password(username, password)
    # Read only for the right password: an account this release cannot read (another
    # version saved it) is then a plain 409, told to no one who lacks the password.
    user = await services.users.get_user(username) if verified is not None else None
    if user is None or verified is None:
        # The reserved attempt stays counted as a failure.
        errors.add("password", "The user name or password is not right")
        return await _sign_in_page(request, errors=errors, username=username, status=401)
    await auth.throttle.clear(username)
    if user.disabled:
        # Said only to someone who knows the password, so it tells nobody else anything.
        errors.add("username", "This account is disabled. Ask an administrator to enable it")
        log.warning("sign-in refused: %s is disabled", user.name)
        return await _sign_in_page(request, errors=errors, username=username, status=403)
    session = await auth.sessions.create(user.name, user.role, now)
    if await services.users.password_hash(user.name) != verified:
        # The password changed while this one was checked: that change ended every session,
        # this one included, however the two interleaved.
        await auth.sessions.delete(session.id, user.name)
        errors.add("password", "The user name or password is not right")
        return await _sign_in_page(request, errors=errors, username=username, status=401)
    target = _safe_next(str(form.get("next", ""))) or start_page(user.role)
    response = web.Response(status=303, headers={"Location": target})
    auth.set_cookie(response, session)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/sign-in")
    log.info("%s signed in (%s)", user.name, user.role.value)
    return response


@pages.post("/sign-out", name="signout", role=None)
async def sign_out(context: PageContext) -> web.StreamResponse:
    auth = web_auth(context.request)
    await auth.sessions.delete(context.session.id, context.session.user)
    response = web.Response(status=303, headers={"Location": "/sign-in?signed-out=1"})
    auth.clear_cookie(response)
    return response


@pages.get("/", name="home", role=None)
async def home(context: PageContext) -> web.StreamResponse:
    return web.Response(status=303, headers={"Location": start_page(context.session.role)})
