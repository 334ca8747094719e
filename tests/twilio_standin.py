"""A local HTTP server standing in for Twilio's REST API. It records every request.

It answers the few endpoints CallGuard uses with the shape Twilio returns, so twilio's
own client parses the answers as it would in production.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import MultiDict

from callguard.demo_phone import RECORDING, recording_wav, twilio_like_answer, twilio_like_status


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: MultiDict[str]
    authorization: str


@dataclass
class TwilioStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    server: TestServer | None = None
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Set a status to make every request fail with it (fault tests).
    fail_with: int | None = None
    # Set an event to hold every answer until it is set (a request kept in flight).
    hold: asyncio.Event | None = None
    # Recordings the phone system no longer holds (a GET of one is 404).
    recordings_gone: set[str] = field(default_factory=set)
    # How long each recording it gives is (WAV, 16 kB a second).
    recording_seconds: float = 0.5

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests have arrived (no polling)."""
        async with asyncio.timeout(timeout_s), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    def matching(self, pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if re.search(pattern, r.path)]

    async def _handle(self, request: web.Request) -> web.Response:
        form = MultiDict(await request.post()) if request.can_read_body else MultiDict()
        recorded = RecordedRequest(
            request.method,
            request.path,
            MultiDict((k, str(v)) for k, v in form.items()),
            request.headers.get("Authorization", ""),
        )
        async with self.arrived:
            self.requests.append(recorded)
            self.arrived.notify_all()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_with is not None:
            return web.json_response(
                {"message": "stand-in failure", "status": self.fail_with}, status=self.fail_with
            )
        status = twilio_like_status(request.method, request.path)
        if status == 204:  # DELETE (a recording): no body
            return web.Response(status=204)
        recording = RECORDING.search(request.path) if request.method == "GET" else None
        if recording is not None:
            if recording.group(1) in self.recordings_gone:
                return web.json_response({"message": "not found", "status": 404}, status=404)
            return web.Response(
                body=recording_wav(self.recording_seconds), content_type="audio/x-wav"
            )
        return web.json_response(twilio_like_answer(request.path, recorded.form), status=status)
