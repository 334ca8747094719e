"""A stand-in for Twilio's REST API, embedded in ``callguard demo`` (which has no phone
system) and used by the tests: it answers the few endpoints CallGuard calls, in Twilio's
shape, and keeps what it was asked so a newcomer can see it.

It also plays the phone system's part in a call, whoever placed it (the console's form or
``callguard simulate-call``): the other leg it is asked to dial answers at once (leg,
conference and call status callbacks, ``caller_leg.answer_other_leg``), and a call it is
asked to redirect to the closing statement hangs up after it (``completed``).
"""

from __future__ import annotations

import base64
import hmac
import io
import logging
import math
import re
import struct
import wave
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict

from callguard import caller_leg
from callguard.web.appkeys import SERVICES

DEMO_PREFIX = "/demo/twilio"
log = logging.getLogger("callguard.demo")


def twilio_like_answer(path: str, form: MultiDict[str]) -> dict[str, Any]:
    """The JSON body Twilio returns for a participant or call request."""
    account = re.search(r"/Accounts/([^/.]+)", path)
    account_sid = account.group(1) if account else "AC0"
    participant = re.search(r"/Conferences/([^/]+)/Participants(?:/([^/.]+))?", path)
    if participant:
        return {
            "account_sid": account_sid,
            "call_sid": participant.group(2) or "CAstandin0000000000000000000000001",
            "conference_sid": participant.group(1),
            "label": form.get("Label"),
            "status": "queued",
            "muted": False,
            "hold": False,
            "uri": path,
        }
    if re.fullmatch(r"/2010-04-01/Accounts/[^/]+\.json", path):
        return {"sid": account_sid, "friendly_name": "Stand-in account", "status": "active"}
    call = re.search(r"/Calls/([^/.]+)\.json", path)
    return {
        "account_sid": account_sid,
        "sid": call.group(1) if call else "CAstandin0000000000000000000000002",
        "status": form.get("Status", "in-progress"),
        "uri": path,
    }


RECORDING = re.compile(r"/Recordings/(RE[0-9a-f]{32})\.wav$")


def recording_wav(seconds: float = 1.0) -> bytes:
    """A recording as the phone system gives one (WAV, 8 kHz, 16-bit, mono): a quiet
    tone, for a stand-in that has no callers' voices to give."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(2000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(rate * seconds))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(frames)
    return out.getvalue()


def twilio_like_status(method: str, path: str) -> int:
    if method == "DELETE":
        return 204  # a deleted recording: no body, as Twilio answers
    return 201 if method == "POST" and path.endswith("Participants.json") else 200


@dataclass
class DemoPhoneSystem:
    """Keeps the last requests CallGuard made to the phone system (for the demo pages)."""

    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.post()
        form: MultiDict[str] = MultiDict((k, str(v)) for k, v in raw.items())
        path = request.path.removeprefix(DEMO_PREFIX)
        self.requests.appendleft(
            {
                "at": datetime.now(UTC).isoformat(),
                "method": request.method,
                "path": path,
                "form": dict(form),
            }
        )
        status = twilio_like_status(request.method, path)
        if status == 204:
            return web.Response(status=204)
        if request.method == "GET" and RECORDING.search(path):
            return web.Response(body=recording_wav(), content_type="audio/x-wav")
        if request.method == "POST":
            self._play_along(request, path, form)
        return web.json_response(twilio_like_answer(path, form), status=status)

    def _play_along(self, request: web.Request, path: str, form: MultiDict[str]) -> None:
        """Send, after this answer, the callbacks the phone system would send next."""
        dialled = re.search(r"/Conferences/cg-(CA[0-9a-f]{32})/Participants\.json$", path)
        redirected = re.search(r"/Calls/(CA[0-9a-f]{32})\.json$", path)
        services = request.app[SERVICES]
        hooks = webhooks_for(request)
        if hooks is None or not _from_callguard(request, hooks):
            return
        if dialled:
            work = caller_leg.answer_other_leg(hooks, dialled.group(1), form.get("StatusCallback"))
        elif redirected and "kind=closing" in form.get("Url", ""):
            work = caller_leg.hang_up(hooks, redirected.group(1), duration_s=60)
        else:
            return
        services.background.spawn(_quietly(work))

    def install(self, app: web.Application) -> None:
        app.router.add_route("*", DEMO_PREFIX + "/{tail:.*}", self.handle, name="demo-twilio")


def _from_callguard(request: web.Request, hooks: caller_leg.Webhooks) -> bool:
    """Only CallGuard's own requests (with the account's credentials, as Twilio's API asks)
    set a call moving: anyone else on this machine gets an answer, but no callbacks."""
    pair = f"{hooks.account_sid}:{hooks.auth_token}".encode()
    expected = "Basic " + base64.b64encode(pair).decode("ascii")
    return hmac.compare_digest(request.headers.get("Authorization", ""), expected)


async def _quietly(work: Any) -> None:
    try:
        await work
    except Exception as error:  # the demo's phone system: a failed callback is only logged
        log.warning("the demo phone system's callback failed (%s)", error)


def local_base(request: web.Request) -> str | None:
    """This server, as reached on the socket the request arrived on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return None
    host, port = sockname[0], sockname[1]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def webhooks_for(request: web.Request) -> caller_leg.Webhooks | None:
    """Signed webhooks to this very server, as Twilio would send them."""
    settings = request.app[SERVICES].settings
    base = local_base(request)
    if base is None or not settings.public_url or settings.twilio_auth_token is None:
        return None
    return caller_leg.Webhooks(
        base=base,
        public_url=settings.public_url,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        account_sid=settings.twilio_account_sid or "",
    )
