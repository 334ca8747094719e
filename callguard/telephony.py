"""The calls CallGuard makes to the phone system (Twilio's REST API), behind a Protocol.

twilio's own async client (``AsyncTwilioHttpClient``) is used, with every request rebased
onto ``CALLGUARD_TWILIO_API_BASE`` so tests can stand a local server in for Twilio.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Protocol

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
REQUEST_TIMEOUT_S = 5.0

# twilio's client logs request URLs and parameters (phone numbers) at INFO.
logging.getLogger("twilio").setLevel(logging.WARNING)


class Telephony(Protocol):
    async def dial_into_conference(
        self,
        *,
        conference: str,
        to: str,
        caller_id: str,
        label: str,
        status_callback: str,
        ring_timeout_s: int,
        time_limit_s: int | None,
    ) -> None:
        """Dial ``to`` and put them into ``conference`` (the other leg of a connected call)."""

    async def announce_to_participant(
        self, *, conference_sid: str, call_sid: str, url: str
    ) -> None:
        """Play the TwiML at ``url`` to one participant of a live conference."""

    async def redirect_call(self, *, call_sid: str, url: str) -> None:
        """Take a live call out of what it is doing and run the TwiML at ``url``."""

    async def close(self) -> None: ...


class _RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    def __init__(self, api_base: str) -> None:
        super().__init__(timeout=REQUEST_TIMEOUT_S)
        self.api_base = api_base.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's signature
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API) :]
        headers = dict(headers or {})
        if auth is not None:
            # Sent as a header: aiohttp deprecates the BasicAuth object twilio would build.
            pair = f"{auth[0]}:{auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class TwilioTelephony:
    def __init__(self, account_sid: str, auth_token: str, api_base: str) -> None:
        self.http = _RebasedHttpClient(api_base)
        self.client = Client(account_sid, auth_token, http_client=self.http)

    async def dial_into_conference(
        self,
        *,
        conference: str,
        to: str,
        caller_id: str,
        label: str,
        status_callback: str,
        ring_timeout_s: int,
        time_limit_s: int | None,
    ) -> None:
        extra: dict[str, Any] = {}
        if time_limit_s is not None:
            extra["time_limit"] = time_limit_s
        await self.client.conferences(conference).participants.create_async(
            from_=caller_id,
            to=to,
            label=label,
            timeout=ring_timeout_s,
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            start_conference_on_enter=True,
            end_conference_on_exit=True,
            beep="false",
            **extra,
        )

    async def announce_to_participant(
        self, *, conference_sid: str, call_sid: str, url: str
    ) -> None:
        await (
            self.client.conferences(conference_sid)
            .participants(call_sid)
            .update_async(announce_url=url, announce_method="POST")
        )

    async def redirect_call(self, *, call_sid: str, url: str) -> None:
        await self.client.calls(call_sid).update_async(url=url, method="POST")

    async def close(self) -> None:
        await self.http.close()
