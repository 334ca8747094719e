"""Driving the inbound-call webhook of a running service, as Twilio would."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import aiohttp
from multidict import MultiDict

from tests.helpers import sign, voice_params

PUBLIC_URL = "https://callguard.example.org"
AUTH_TOKEN = "secret-token"  # as tests.processes.serve_env sets it
RESTRICTED = "+447700900123"


@dataclass
class Answer:
    call_sid: str
    status: int
    outcome: str
    degraded: bool
    elapsed_s: float


async def call(session: aiohttp.ClientSession, base: str, caller: str) -> Answer:
    call_sid = "CA" + secrets.token_hex(16)
    params = voice_params(call_sid, caller)
    path = "/webhooks/twilio/voice"
    started = time.perf_counter()
    async with session.post(
        base + path,
        data=MultiDict(params),
        headers={"X-Twilio-Signature": sign(PUBLIC_URL + path, params, AUTH_TOKEN)},
    ) as response:
        await response.read()
        return Answer(
            call_sid,
            response.status,
            response.headers.get("X-CallGuard-Outcome", ""),
            response.headers.get("X-CallGuard-Degraded") == "1",
            time.perf_counter() - started,
        )


def unknown_caller() -> str:
    return f"+4479111{secrets.randbelow(100000):05d}"
