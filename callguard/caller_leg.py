"""The caller's side of a simulated call, as the phone system would play it: shared by
``callguard simulate-call``, the demo's "simulate an inbound call" form and the demo's
stand-in phone system (``demo_phone``).

Every step is the signed webhook Twilio would send, posted to the running service:
the voice webhook; for a refused caller, the key they press (if any) and the message they
leave (if any), following the ``action`` of the TwiML's ``<Gather>`` and ``<Record>``,
then the ``completed`` status. A connected caller stays on the line: the demo's phone
system answers the other leg (``answer_other_leg``), so the call is live in the console
until staff end it or the caller hangs up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

import aiohttp
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from callguard import urls

TIMEOUT_S = 10.0
# A spoken message of N words lasts about N / 2.5 seconds.
WORDS_PER_SECOND = 2.5


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass(frozen=True)
class Webhooks:
    """Where the service listens (``base``), and how Twilio signs for it."""

    base: str
    public_url: str
    auth_token: str
    account_sid: str

    def sign(self, url: str, params: list[tuple[str, str]]) -> str:
        validator = RequestValidator(self.auth_token)
        return str(validator.compute_signature(url, MultiDict(params)))

    def url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    async def post(self, url: str, params: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        """POST ``params`` to ``url`` (a public callback URL) on the service, signed."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": self.sign(url, params)}
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as client,
            client.post(self.base.rstrip("/") + path, data=params, headers=headers) as response,
        ):
            text = await response.text()
            if response.status != 200:
                raise WebhookRefused(f"the service answered {response.status} to {parts.path}")
            return text, dict(response.headers)


class WebhookRefused(Exception):
    pass


@dataclass
class CallResult:
    call_sid: str
    outcome: str
    rule: str
    route: str
    degraded: bool
    hears: list[str] = field(default_factory=list)
    message_left: bool = False
    twiml: str = ""
    after_digits: str | None = None
    # What the service answered the message with (the thanks), when one was left.
    thanks: str | None = None

    @property
    def connected(self) -> bool:
        return self.outcome in ("connect", "divert_spoc") or self.degraded


def spoken(twiml: str, *, until: str | None = None) -> list[str]:
    """What the caller hears of ``twiml``; ``until``: only what is said before that verb
    (what follows a ``Record`` is heard only when no message is left)."""
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own service's answer
    said: list[str] = []
    for element in root:
        if element.tag == until:
            break
        for say in element.iter("Say"):
            if "".join(say.itertext()):
                said.append(" ".join(say.itertext()).strip())
    return said


def _action(twiml: str, tag: str) -> str | None:
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own service's answer
    element = next(root.iter(tag), None)
    return element.get("action") if element is not None else None


def message_seconds(text: str) -> int:
    return max(1, round(len(text.split()) / WORDS_PER_SECOND))


async def place_call(
    hooks: Webhooks,
    *,
    caller: str,
    to: str,
    digits: str | None = None,
    message: str | None = None,
    call_sid: str | None = None,
) -> CallResult:
    """The call from ``caller``: screened; a refused caller then presses ``digits`` and
    leaves ``message`` where offered, and hangs up (status ``completed``)."""
    sid = call_sid or new_call_sid()
    params = [
        ("AccountSid", hooks.account_sid),
        ("CallSid", sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", caller),
        ("To", to),
        ("Caller", caller),
        ("Called", to),
    ]
    twiml, headers = await hooks.post(hooks.url(urls.VOICE), params)
    result = CallResult(
        call_sid=sid,
        outcome=headers.get("X-CallGuard-Outcome", "connect"),
        rule=headers.get("X-CallGuard-Rule", "none"),
        route=headers.get("X-CallGuard-Route", ""),
        degraded=headers.get("X-CallGuard-Degraded") == "1",
        hears=spoken(twiml),
        twiml=twiml,
    )
    if result.connected:
        return result
    if digits:
        gather = _action(twiml, "Gather")
        if gather:
            twiml, _ = await hooks.post(gather, [("CallSid", sid), ("Digits", digits)])
            result.after_digits = twiml
    record = _action(twiml, "Record")
    if message and record:
        seconds = message_seconds(message)
        recording_sid = "RE" + secrets.token_hex(16)
        thanks, _ = await hooks.post(
            record,
            [
                ("CallSid", sid),
                ("RecordingSid", recording_sid),
                ("RecordingUrl", hooks.url(f"/demo/twilio/Recordings/{recording_sid}")),
                ("RecordingDuration", str(seconds)),
            ],
        )
        result.message_left = True
        result.thanks = thanks
        if twiml == result.twiml:  # the first answer offered the message: the rest unheard
            result.hears = [*spoken(twiml, until="Record"), *spoken(thanks)]
    await hang_up(hooks, sid, duration_s=message_seconds(message or "") + len(result.hears) * 3)
    return result


async def hang_up(hooks: Webhooks, call_sid: str, *, duration_s: int) -> None:
    """The caller's leg ends: Twilio's ``completed`` status callback."""
    await hooks.post(
        hooks.url(urls.STATUS),
        [("CallSid", call_sid), ("CallStatus", "completed"), ("CallDuration", str(duration_s))],
    )


async def answer_other_leg(hooks: Webhooks, call_sid: str, leg_callback: str | None) -> None:
    """What the phone system reports once the other leg (staff) answers: the leg is in
    progress, it joined the caller's conference, and the caller's call is in progress."""
    leg_sid = new_call_sid()
    if leg_callback:
        await hooks.post(leg_callback, [("CallSid", leg_sid), ("CallStatus", "in-progress")])
    await hooks.post(
        urls.Callbacks(hooks.public_url).conference(call_sid),
        [
            ("StatusCallbackEvent", "participant-join"),
            ("ConferenceSid", "CF" + secrets.token_hex(16)),
            ("CallSid", leg_sid),
            ("FriendlyName", urls.conference_name(call_sid)),
        ],
    )
    await hooks.post(hooks.url(urls.STATUS), [("CallSid", call_sid), ("CallStatus", "in-progress")])
