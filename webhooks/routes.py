"""Twilio webhook handlers (CONTRACT §3). Every one checks the signature first."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDictProxy

from callguard import urls
from callguard.domain.caller_match import Decision
from callguard.domain.records import CallRecord
from callguard.phones import mask_phone
from callguard.services.container import Services
from callguard.services.screening import InboundCall, Screened
from callguard.settings import Settings
from callguard.web.appkeys import SERVICES
from webhooks import twiml
from webhooks.signature import SignatureChecker

log = logging.getLogger("callguard.webhooks")

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
MAX_FIELD = 256


# Told of each inbound call as it is answered: outcome, rule, whether the fail-open path
# answered, and the seconds the answer took (the metrics: ``Metrics.inbound_answered``).
Answered = Callable[[str, str, bool, float], None]


def _not_counted(outcome: str, rule: str, degraded: bool, seconds: float) -> None:
    return None


@dataclass
class Edge:
    signatures: SignatureChecker
    answered: Answered = _not_counted


EDGE = web.AppKey("edge", Edge)


def _xml(text: str, **headers: str) -> web.Response:
    return web.Response(text=text, content_type="text/xml", headers=headers)


def _field(form: MultiDictProxy[str], name: str, *, required: bool = False) -> str:
    value = form.get(name, "")
    if len(value) > MAX_FIELD:
        raise web.HTTPBadRequest(text=f"{name}: longer than {MAX_FIELD} characters")
    if required and not value:
        raise web.HTTPBadRequest(text=f"{name}: required")
    return value


def _call_sid(value: str, name: str = "CallSid") -> str:
    if not CALL_SID.fullmatch(value):
        raise web.HTTPBadRequest(text=f"{name}: not a Twilio call SID")
    return value


def _int(form: MultiDictProxy[str], name: str) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 9:
        raise web.HTTPBadRequest(text=f"{name}: not a whole number")
    return int(value)


def _extra_time(record: CallRecord | None) -> bool:
    """Whether the caller gets extra time to speak (a reasonable adjustment); when their
    record cannot be read (the store is away), they get it: more time never harms."""
    return record.extra_time if record is not None else True


async def _fail_open(step: Awaitable[object], what: str) -> None:
    """Run a step whose failure must not fail the webhook: Twilio gets its TwiML whatever
    happens (CONTRACT §6). Updates are spooled by the step itself when the store is away."""
    try:
        await step
    except Exception:
        log.exception("%s failed; answering all the same", what)


Handler = Callable[[web.Request, MultiDictProxy[str], Services], Awaitable[web.StreamResponse]]


def signed(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def checked(request: web.Request) -> web.StreamResponse:
        form = await request.app[EDGE].signatures.verified_form(request)
        return await handler(request, form, request.app[SERVICES])

    checked.__name__ = handler.__name__
    return checked


async def voice(request: web.Request) -> web.Response:
    """The inbound call (not ``@signed``: its time to answer counts from the start)."""
    started = time.perf_counter()
    edge = request.app[EDGE]
    form = await edge.signatures.verified_form(request)
    services = request.app[SERVICES]
    outcome, rule, degraded, text, route = await _voice(form, services)
    edge.answered(outcome, rule, degraded, time.perf_counter() - started)
    return _xml(
        text,
        **{
            "X-CallGuard-Outcome": outcome,
            "X-CallGuard-Rule": rule,
            "X-CallGuard-Route": route,
            "X-CallGuard-Degraded": "1" if degraded else "0",
        },
    )


async def _voice(form: MultiDictProxy[str], services: Services) -> tuple[str, str, bool, str, str]:
    """Screen the call: (outcome, rule, degraded, the TwiML, the route or "")."""
    call = InboundCall(
        call_sid=_call_sid(_field(form, "CallSid", required=True)),
        caller=_field(form, "From"),
        to=_field(form, "To"),
        status=_field(form, "CallStatus") or "ringing",
    )
    policy = services.policy
    route = services.screening.default_route
    try:
        screened = await services.screening.screen(call, services.clock.now())
    except Exception:  # even the spool failed: still connect the caller
        log.exception("inbound call from %s: screening and spool failed", mask_phone(call.caller))
        return "connect", "none", True, twiml.direct_dial(policy, route), route
    decision = screened.decision
    text = _answer(services, screened, call)
    return decision.outcome, decision.rule, screened.degraded, text, decision.route_to or ""


def _answer(services: Services, screened: Screened, call: InboundCall) -> str:
    decision = screened.decision
    if screened.degraded:
        return twiml.direct_dial(services.policy, services.screening.default_route)
    if decision.outcome == "refuse":
        return twiml.refuse(decision, services.policy, services.callbacks, call.call_sid)
    if not screened.repeated:
        services.background.spawn(_dial_other_leg(services, decision, call))
    return twiml.connect(decision, services.policy, services.callbacks, call.call_sid)


async def _dial_other_leg(services: Services, decision: Decision, call: InboundCall) -> None:
    assert decision.route_to is not None
    try:
        await services.telephony.dial_into_conference(
            conference=urls.conference_name(call.call_sid),
            to=decision.route_to,
            caller_id=call.to,
            label="staff",
            status_callback=services.callbacks.leg(call.call_sid),
            ring_timeout_s=twiml.RING_TIMEOUT_S,
            time_limit_s=decision.max_minutes * 60 if decision.max_minutes else None,
        )
    except Exception:
        log.exception("could not dial the other leg; taking the caller to a message")
        await services.call_events.leg_status(call.call_sid, "failed")


@signed
async def status(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    call_sid = _call_sid(_field(form, "CallSid", required=True))
    call_status = _field(form, "CallStatus", required=True)
    duration_s = _int(form, "CallDuration")
    await _fail_open(services.call_events.status(call_sid, call_status, duration_s), "status")
    return _xml(twiml.say_only(services.policy, []))


@signed
async def conference(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    event, conference_sid = _field(form, "StatusCallbackEvent"), _field(form, "ConferenceSid")
    await _fail_open(
        services.call_events.conference_event(call_sid, event, conference_sid), "conference"
    )
    return _xml(twiml.say_only(services.policy, []))


@signed
async def leg(request: web.Request, form: MultiDictProxy[str], services: Services) -> web.Response:
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    leg_status = _field(form, "CallStatus", required=True)
    await _fail_open(services.call_events.leg_status(call_sid, leg_status), "leg status")
    return _xml(twiml.say_only(services.policy, []))


@signed
async def unanswered(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    record = await services.call_events.get_if_reachable(call_sid)
    spoc_name = record.spoc_name if record else None
    messages = services.policy.messages
    if spoc_name:
        line = messages.unanswered_spoc.replace("{spoc}", spoc_name)
    else:
        line = messages.unanswered
    return _xml(
        twiml.leave_message(
            services.policy,
            services.callbacks,
            call_sid,
            extra_time=_extra_time(record),
            lines=[line],
            # Unknown (the store is away): the message callback takes the SPOC's name from
            # the record once it can be read, if the call had one.
            for_spoc=spoc_name is not None if record is not None else True,
        )
    )


@signed
async def gather(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    """A refused caller pressed a key: a different matter (§3.8), as the policy file says."""
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    digits = _field(form, "Digits")
    record = await services.call_events.get_if_reachable(call_sid)
    policy = services.policy
    if digits != policy.new_matter.digit:
        return _xml(
            twiml.leave_message(
                policy, services.callbacks, call_sid, extra_time=_extra_time(record), lines=[]
            )
        )
    await _fail_open(services.call_events.new_matter_claimed(call_sid), "new matter")
    if policy.new_matter.action == "connect":
        route = services.screening.default_route
        return _xml(twiml.direct_dial(policy, route))
    return _xml(
        twiml.leave_message(
            policy,
            services.callbacks,
            call_sid,
            extra_time=_extra_time(record),
            lines=[],
            new_matter=True,
            intro=policy.new_matter.confirmation,
        )
    )


@signed
async def message(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    recording_sid = _field(form, "RecordingSid", required=True)
    recording_url = _field(form, "RecordingUrl", required=True)
    duration_s = _int(form, "RecordingDuration") or 0
    record = await services.call_events.get_if_reachable(call_sid)
    for_spoc = request.query.get("for_spoc") == "1"
    # Kept (in the store, else fsync'd to the spool) before the caller is thanked.
    await _fail_open(
        services.call_events.message_recorded(
            call_sid,
            recording_sid=recording_sid,
            recording_url=recording_url,
            duration_s=duration_s,
            new_matter=request.query.get("new_matter") == "1",
            for_spoc=record.spoc_name if record and for_spoc else None,
            now=services.clock.now(),
            spoc_from_record=for_spoc and record is None,
        ),
        "message",
    )
    return _xml(
        twiml.say_then_hang_up(
            services.policy,
            ["Thank you. Your message will be listened to by a member of staff. Goodbye."],
            extra_time=_extra_time(record),
        )
    )


@signed
async def recording(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    call_sid = _call_sid(request.query.get("call_sid", ""), "call_sid")
    if _field(form, "RecordingStatus") in ("", "completed"):
        recording_sid = _field(form, "RecordingSid", required=True)
        recording_url = _field(form, "RecordingUrl", required=True)
        await _fail_open(
            services.call_events.recording_ready(call_sid, recording_sid, recording_url),
            "recording",
        )
    return _xml(twiml.say_only(services.policy, []))


@signed
async def announce(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    """The warning script (§6.4) played into the live call, or the closing statement
    followed by the end of the caller's leg."""
    _call_sid(request.query.get("call_sid", ""), "call_sid")
    reason = services.policy.reasons.get(request.query.get("reason", ""))
    kind = request.query.get("kind")
    if reason is None or kind not in ("warning", "closing"):
        raise web.HTTPBadRequest(text="reason or kind: unknown")
    if kind == "warning":
        return _xml(twiml.say_only(services.policy, [reason.warning]))
    return _xml(twiml.say_then_hang_up(services.policy, [reason.closing]))


@signed
async def fallback(
    request: web.Request, form: MultiDictProxy[str], services: Services
) -> web.Response:
    """Twilio's fallback URL: safe static TwiML when the voice URL failed."""
    return _xml(twiml.direct_dial(services.policy, services.screening.default_route))


def install(app: web.Application, settings: Settings, answered: Answered | None = None) -> None:
    """The webhooks on ``app``; ``answered`` is told of each inbound call answered."""
    if settings.public_url is None or settings.twilio_auth_token is None:
        raise ValueError(
            "the Twilio edge needs CALLGUARD_PUBLIC_URL and CALLGUARD_TWILIO_AUTH_TOKEN"
        )
    shared = settings.twilio_webhook_shared_key
    app[EDGE] = Edge(
        SignatureChecker(
            settings.public_url,
            settings.twilio_auth_token.get_secret_value(),
            shared.get_secret_value() if shared else None,
        ),
        answered or _not_counted,
    )
    for path, handler in (
        (urls.VOICE, voice),
        (urls.STATUS, status),
        (urls.FALLBACK, fallback),
        (urls.CONFERENCE, conference),
        (urls.LEG, leg),
        (urls.GATHER, gather),
        (urls.MESSAGE, message),
        (urls.RECORDING, recording),
        (urls.UNANSWERED, unanswered),
        (urls.ANNOUNCE, announce),
    ):
        app.router.add_post(path, handler, name="twilio-" + path.rsplit("/", 1)[1])

    async def bound_follow_ups(app: web.Application) -> None:
        # A follow-up webhook waits for the store no longer than the inbound call does.
        services = app[SERVICES]
        services.call_events.budget_s = services.screening.budget_s

    app.on_startup.append(bound_follow_ups)
