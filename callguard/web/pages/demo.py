"""The demo's "simulate an inbound call" panel: the whole flow without a phone system.

Only where the demo's stand-in phone system is installed (``callguard demo``). The call is
placed as ``callguard simulate-call`` places it (``caller_leg.place_call``: the signed
webhooks Twilio would send, posted to this server on the socket the request came in on);
the stand-in phone system answers the other leg, so the call is live in the console. A
refused caller may leave a message. "Caller hangs up" posts the signed ``completed``.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from callguard import caller_leg, urls
from callguard.caller_leg import CallResult, WebhookRefused, Webhooks, place_call
from callguard.demo_phone import webhooks_for
from callguard.domain.roles import Role
from callguard.phones import mask_phone, try_normalise
from callguard.services.container import Services
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.pages.words import rule_in_words

pages = Pages()

DEMO_ROUTE_NAME = "demo-twilio"
OFFICE_NUMBER = "+441772000000"
MESSAGE_MAX = 500


def is_demo(app: web.Application) -> bool:
    """True in ``callguard demo``: its stand-in phone system is installed."""
    return DEMO_ROUTE_NAME in app.router.named_resources()


def demo_caller_ref(person_id: str, index: int) -> str:
    """How the simulate form names one of a person's numbers without showing it."""
    return f"person:{person_id}:{index}"


async def _caller_number(services: Services, caller: str) -> str | None:
    """The number a simulated call comes from: as typed, or one of a person's."""
    if not caller.startswith("person:"):
        return caller
    _, person_id, index = [*caller.split(":"), "", ""][:3]
    person = await services.register.store.get_person(person_id) if person_id else None
    if person is None or not index.isdigit() or int(index) >= len(person.phones):
        return None
    return person.phones[int(index)]


def _hooks(request: web.Request) -> Webhooks:
    hooks = webhooks_for(request)
    if hooks is None:
        raise web.HTTPServiceUnavailable(text="cannot tell which address this server is on")
    return hooks


async def simulate_inbound(
    request: web.Request, services: Services, caller: str, message: str | None = None
) -> CallResult:
    """The call, as ``callguard simulate-call`` places it; once the phone system has
    answered the other leg (so the console shows the call connected)."""
    try:
        result = await place_call(_hooks(request), caller=caller, to=OFFICE_NUMBER, message=message)
    except (WebhookRefused, aiohttp.ClientError, TimeoutError) as error:
        raise web.HTTPBadGateway(text=f"the simulated call could not be placed: {error}") from error
    await services.background.drain()
    return result


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
    caller = await _caller_number(context.services, context.text("caller"))
    if not caller or len(caller) > 40:
        return await context.redirect(back, error="Choose who the call comes from")
    left = context.text("message")
    if len(left) > MESSAGE_MAX:
        return await context.redirect(
            back, error=f"The message must be {MESSAGE_MAX} characters or fewer"
        )
    simulated = await simulate_inbound(context.request, context.services, caller, left or None)
    shown = mask_phone(try_normalise(caller) or caller)
    where = f" to {simulated.route}" if simulated.route else ""
    hears = " ".join(simulated.hears)
    said = (
        " They left a message, now waiting to be triaged."
        if simulated.message_left
        else (" The call was put through, so no message was left." if left else "")
    )
    message = (
        f"Simulated call from {shown}: {OUTCOME_WORDS.get(simulated.outcome, simulated.outcome)}"
        f"{where} ({rule_in_words(simulated.rule).lower()}). The caller hears: “{hears}”{said}"
    )
    return await context.redirect(back, message)


@pages.post("/demo/calls/{call_sid}/hang-up", name="demo-hang-up", role=Role.staff)
async def hang_up(context: PageContext) -> web.StreamResponse:
    if not is_demo(context.request.app):
        raise web.HTTPNotFound()
    call_sid = context.request.match_info["call_sid"]
    await context.services.call_events.get(call_sid)
    await caller_leg.hang_up(_hooks(context.request), call_sid, duration_s=60)
    return await context.redirect("/console", "The caller hung up (simulated).")
