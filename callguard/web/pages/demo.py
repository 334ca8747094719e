"""The demo's "simulate an inbound call" panel: the whole flow without a phone system.

Only where the demo's stand-in phone system is installed (``callguard demo``). The server
posts to itself, over HTTP on the socket the request came in on, exactly what Twilio
would: the signed voice webhook (as ``callguard simulate-call`` does), then, for a call
that connects, the signed conference callback saying the caller has joined (so live
controls can play into it). "Caller hangs up" posts the signed ``completed`` status.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from xml.etree import ElementTree

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from callguard import urls
from callguard.domain.roles import Role
from callguard.phones import try_normalise
from callguard.services.container import Services
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()

DEMO_ROUTE_NAME = "demo-twilio"
OFFICE_NUMBER = "+441772000000"
TIMEOUT_S = 10.0


def is_demo(app: web.Application) -> bool:
    """True in ``callguard demo``: its stand-in phone system is installed."""
    return DEMO_ROUTE_NAME in app.router.named_resources()


@dataclass(frozen=True)
class Simulated:
    call_sid: str
    outcome: str
    rule: str
    route: str
    hears: list[str]


def _sign(services: Services, url: str, params: list[tuple[str, str]]) -> str:
    token = services.settings.twilio_auth_token
    assert token is not None
    validator = RequestValidator(token.get_secret_value())
    return str(validator.compute_signature(url, MultiDict(params)))


def _local_base(request: web.Request) -> str:
    """This server, as reached on the socket the request arrived on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        raise web.HTTPServiceUnavailable(text="cannot tell which address this server is on")
    host, port = sockname[0], sockname[1]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


async def _post_signed(
    request: web.Request, services: Services, public_url: str, params: list[tuple[str, str]]
) -> tuple[str, dict[str, str]]:
    """POST ``params`` to ``public_url``'s path on this server, signed as Twilio signs."""
    base = services.settings.public_url or ""
    path = public_url.removeprefix(base)
    headers = {"X-Twilio-Signature": _sign(services, public_url, params)}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as client,
        client.post(_local_base(request) + path, data=params, headers=headers) as response,
    ):
        text = await response.text()
        if response.status != 200:
            raise web.HTTPBadGateway(text=f"the webhook answered {response.status}")
        return text, dict(response.headers)


def _spoken(twiml: str) -> list[str]:
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own service's answer
    return [" ".join(e.itertext()).strip() for e in root.iter("Say") if "".join(e.itertext())]


async def simulate_inbound(request: web.Request, services: Services, caller: str) -> Simulated:
    call_sid = "CA" + secrets.token_hex(16)
    params = [
        ("AccountSid", services.settings.twilio_account_sid or ""),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", caller),
        ("To", OFFICE_NUMBER),
        ("Caller", caller),
        ("Called", OFFICE_NUMBER),
    ]
    twiml, headers = await _post_signed(
        request, services, services.callbacks.url(urls.VOICE), params
    )
    outcome = headers.get("X-CallGuard-Outcome", "?")
    if outcome in ("connect", "divert_spoc") and headers.get("X-CallGuard-Degraded") != "1":
        await services.background.drain()
        await _post_signed(
            request,
            services,
            services.callbacks.conference(call_sid),
            [
                ("StatusCallbackEvent", "participant-join"),
                ("ConferenceSid", "CF" + secrets.token_hex(16)),
                ("CallSid", call_sid),
                ("FriendlyName", urls.conference_name(call_sid)),
            ],
        )
    return Simulated(
        call_sid=call_sid,
        outcome=outcome,
        rule=headers.get("X-CallGuard-Rule", "?"),
        route=headers.get("X-CallGuard-Route", ""),
        hears=_spoken(twiml),
    )


OUTCOME_WORDS = {
    "connect": "connected",
    "divert_spoc": "put through to the single point of contact",
    "refuse": "refused",
}


@pages.post("/demo/simulate", name="demo-simulate", role=Role.staff)
async def simulate(context: PageContext) -> web.StreamResponse:
    if not is_demo(context.request.app):
        raise web.HTTPNotFound()
    back = urls.safe_local_path(context.text("back")) or "/console"
    caller = context.text("caller")
    if not caller or len(caller) > 40:
        return await context.redirect(back, "error:Enter the number the call comes from")
    simulated = await simulate_inbound(context.request, context.services, caller)
    shown = try_normalise(caller) or caller
    where = f" to {simulated.route}" if simulated.route else ""
    hears = " ".join(simulated.hears)
    message = (
        f"Simulated call from {shown}: {OUTCOME_WORDS.get(simulated.outcome, simulated.outcome)}"
        f"{where} (rule {simulated.rule}). The caller hears: “{hears}”"
    )
    return await context.redirect(back, message)


@pages.post("/demo/calls/{call_sid}/hang-up", name="demo-hang-up", role=Role.staff)
async def hang_up(context: PageContext) -> web.StreamResponse:
    if not is_demo(context.request.app):
        raise web.HTTPNotFound()
    call_sid = context.request.match_info["call_sid"]
    await context.services.call_events.get(call_sid)
    await _post_signed(
        context.request,
        context.services,
        context.services.callbacks.url(urls.STATUS),
        [("CallSid", call_sid), ("CallStatus", "completed"), ("CallDuration", "60")],
    )
    return await context.redirect("/console", "The caller hung up (simulated).")
