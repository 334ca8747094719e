"""A stand-in for Twilio's REST API, embedded in ``callguard demo`` (which has no phone
system) and used by the tests: it answers the few endpoints CallGuard calls, in Twilio's
shape, and keeps what it was asked so a newcomer can see it."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict

DEMO_PREFIX = "/demo/twilio"


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
        return web.json_response(twilio_like_answer(path, form), status=status)

    def install(self, app: web.Application) -> None:
        app.router.add_route("*", DEMO_PREFIX + "/{tail:.*}", self.handle, name="demo-twilio")
