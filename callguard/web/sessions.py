"""Who is signed in to the web pages: the session cookie, or a single-sign-on proxy.

**Local accounts.** ``POST /sign-in`` checks an argon2 password hash and starts a
server-side session in Redis (``callguard.store.sessions``). The cookie holds only a random
id and is ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` when ``CALLGUARD_PUBLIC_URL``
is https.

**Single sign-on proxy.** With ``CALLGUARD_SSO_HEADER`` set (for example
``X-Forwarded-User``), a request that comes *from one of* ``CALLGUARD_SSO_TRUSTED_PROXIES``
(comma-separated addresses or networks, e.g. ``127.0.0.1,10.0.0.0/24``) and carries that
header is signed in as the named CallGuard user; the user must exist (an admin creates it
and gives it a role). The header is ignored, and a warning logged, on a request from any
other address, so nobody can claim a name by sending the header themselves. Such a
session is bound to the name: when the proxy sends another name, a new session starts.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import replace

from aiohttp import web

from callguard.domain.users import Session
from callguard.services.container import Services

log = logging.getLogger("callguard.web.sessions")

SESSION_COOKIE = "callguard_session"
LOGIN_CSRF_COOKIE = "callguard_signin"


class WebAuth:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.sessions = services.sessions
        self.throttle = services.login_throttle
        public = services.settings.public_url or ""
        self.secure_cookies = public.startswith("https://")

    def _from_trusted_proxy(self, request: web.Request) -> bool:
        if not self.settings.sso_trusted_proxies or request.remote is None:
            return False
        try:
            address = ipaddress.ip_address(request.remote)
        except ValueError:
            return False
        return any(address in network for network in self.settings.sso_trusted_proxies)

    async def current(self, request: web.Request) -> tuple[Session | None, bool]:
        """The request's session, and whether a new cookie must be set for it."""
        now = self.services.clock.now()
        cookie = request.cookies.get(SESSION_COOKIE, "")
        session = await self._current_user(await self.sessions.get(cookie, now)) if cookie else None
        header = self.settings.sso_header
        if header is None or header not in request.headers:
            return session, False
        if not self._from_trusted_proxy(request):
            log.warning("ignored %s from untrusted address %s", header, request.remote)
            return session, False
        name = request.headers[header].strip()
        if session is not None and session.user == name:
            return session, False
        if session is not None:
            await self.sessions.delete(session.id, session.user)
        user = await self.services.users.get_user(name) if name else None
        if user is None:
            log.warning("single sign-on for unknown user %r", name[:64])
            return None, False
        if user.disabled:
            log.warning("single sign-on for disabled user %s", user.name)
            return None, False
        return await self.sessions.create(user.name, user.role, now, sso=True), True

    async def _current_user(self, session: Session | None) -> Session | None:
        """The session with the user's role as it is now: an admin's change of role applies
        at the next request, and a removed or disabled user's sessions end (a change of role
        or disabling ends them anyway: ``services.accounts``)."""
        if session is None:
            return None
        user = await self.services.users.get_user(session.user)
        if user is None or user.disabled:
            await self.sessions.delete(session.id, session.user)
            return None
        return session if user.role is session.role else replace(session, role=user.role)

    def set_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            session.id,
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies,
            path="/",
        )

    def clear_cookie(self, response: web.StreamResponse) -> None:
        response.del_cookie(SESSION_COOKIE, path="/", secure=self.secure_cookies, samesite="Strict")


WEB_AUTH = web.AppKey("web_auth", WebAuth)


def web_auth(request: web.Request) -> WebAuth:
    return request.app[WEB_AUTH]


def install_web_auth(app: web.Application, services: Services) -> None:
    app[WEB_AUTH] = WebAuth(services)
