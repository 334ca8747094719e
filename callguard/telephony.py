"""The calls CallGuard makes to the phone system (Twilio's REST API), behind a Protocol.

twilio's own async client (``AsyncTwilioHttpClient``) is used, with every request rebased
onto ``CALLGUARD_TWILIO_API_BASE`` so tests can stand a local server in for Twilio; except
for dialling the other leg of a connected call, once per inbound call: that is one plain
aiohttp POST on the same client's session, byte for byte the request twilio's client
sends, answered and failing as twilio's does (see ``TwilioTelephony.dial_into_conference``).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
from typing import Protocol
from urllib.parse import quote, quote_plus, urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.base.version import Version
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from yarl import URL

TWILIO_API = "https://api.twilio.com"
REQUEST_TIMEOUT_S = 5.0
# Dialling the other leg: past this, the caller waiting in the conference is taken to a
# message rather than left on hold (Twilio's API answers in well under a second).
DIAL_TIMEOUT_S = 10.0

# twilio's client logs request URLs and parameters (phone numbers) at INFO.
logging.getLogger("twilio").setLevel(logging.WARNING)


# A message's recording as WAV (8 kHz 16-bit mono, 16 kB a second): 64 MiB is over an hour.
# A longer one (a policy may allow up to five hours, with extra time) is refused, not held
# in memory; fetching one may take up to RECORDING_TIMEOUT_S.
MAX_RECORDING_BYTES = 64 * 1024 * 1024
RECORDING_TIMEOUT_S = 60
_RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")


class RecordingNotFetched(Exception):
    """The phone system did not give a recording (it answered an error, or not at all)."""


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

    async def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording held by the phone system (its call record was deleted)."""

    async def fetch_recording(self, recording_sid: str) -> bytes | None:
        """A recording's sound (WAV), or None when the phone system no longer holds it."""


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


# What the other leg's status callback reports (StatusCallbackEvent, in this order).
DIAL_EVENTS = ("initiated", "ringing", "answered", "completed")
API_VERSION = "2010-04-01"
# Characters a URL path carries as they are (RFC 3986 "unreserved").
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
# The dial's form fields that never change, encoded once (as ``urlencode`` encodes them).
_DIAL_MIDDLE = "&" + urlencode(
    [("StatusCallbackMethod", "POST"), *[("StatusCallbackEvent", e) for e in DIAL_EVENTS]]
)
_DIAL_END = "&" + urlencode(
    [("Beep", "false"), ("StartConferenceOnEnter", "true"), ("EndConferenceOnExit", "true")]
)


@functools.lru_cache(maxsize=1024)
def _quoted(value: str) -> str:
    """``quote_plus(value)``, remembered: the office number, routes, callback URLs repeat."""
    return quote_plus(value)


def _form_value(value: str) -> str:
    """``quote_plus(value)``, as ``urlencode`` encodes a value: character by character, so
    the repeating part of a URL (up to its last "=") is encoded once and remembered."""
    head, sep, tail = value.rpartition("=")
    return _quoted(head + sep) + quote_plus(tail)


def dial_form(
    *,
    caller_id: str,
    to: str,
    label: str,
    status_callback: str,
    ring_timeout_s: int,
    time_limit_s: int | None,
) -> str:
    """The form twilio's ``participants.create_async`` posts for these arguments, encoded
    as it encodes it: ``urlencode`` of the fields in its order (byte for byte; the unit
    tests hold it to ``urlencode`` and to twilio's own client)."""
    body = (
        f"From={_quoted(caller_id)}&To={_quoted(to)}"
        f"&StatusCallback={_form_value(status_callback)}{_DIAL_MIDDLE}"
        f"&Label={_quoted(label)}&Timeout={_quoted(str(ring_timeout_s))}{_DIAL_END}"
    )
    if time_limit_s is not None:
        body += f"&TimeLimit={_quoted(str(time_limit_s))}"
    return body


class TwilioTelephony:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base: str,
        *,
        dial_timeout_s: float = DIAL_TIMEOUT_S,
    ) -> None:
        self.http = _RebasedHttpClient(api_base)
        self.dial_timeout = aiohttp.ClientTimeout(total=dial_timeout_s)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.account_sid = account_sid
        self.api_base = self.http.api_base
        # The headers twilio's client sends with a POST (User-Agent, X-Twilio-Client, ...),
        # and its basic auth as a header (as ``_RebasedHttpClient`` sends it).
        pair = f"{account_sid}:{auth_token}".encode()
        form_post = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        self.post_headers: dict[str, str] = self.client.get_headers("POST", form_post)
        self.post_headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        # twilio imports its REST resources on first use (0.2-0.5 s, the event loop
        # blocked): import them now, at start-up, not in the middle of a call.
        self.client.conferences("CF").participants("CA")
        self.client.calls("CA")
        self.client.recordings("RE")
        # The start of a dial's URL, parsed once: yarl parses a URL string afresh for each
        # new conference name (~6 µs a call), not a path of unreserved characters joined to
        # a parsed base. Anything else (a base with a query, an unusual SID) takes the
        # string, as before.
        base = URL(self.api_base)
        self._dial_base = (
            base
            if _UNRESERVED.fullmatch(account_sid) and not (base.query_string or base.fragment)
            else None
        )
        self._conferences_path = (
            f"{base.raw_path.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Conferences/"
        )

    def participants_url(self, conference: str) -> URL | str:
        """Where a dial into ``conference`` is posted (twilio's client's URL, rebased)."""
        if self._dial_base is not None and _UNRESERVED.fullmatch(conference):
            path = f"{self._conferences_path}{conference}/Participants.json"
            return self._dial_base.with_path(path, encoded=True)
        uri = f"/Accounts/{self.account_sid}/Conferences/{conference}/Participants.json"
        return f"{self.api_base}/{API_VERSION}{uri}"

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
        """twilio's ``conferences(c).participants.create_async(...)`` without its layers:
        the same URL, headers and form (``dial_form``), on the same session, bounded by
        ``dial_timeout_s`` (twilio's async client passes no timeout at all, leaving
        aiohttp's 300 s); a non-2xx answer raises the exception twilio would
        (``TwilioRestException``), a timeout ``TimeoutError``."""
        form = dial_form(
            caller_id=caller_id,
            to=to,
            label=label,
            status_callback=status_callback,
            ring_timeout_s=ring_timeout_s,
            time_limit_s=time_limit_s,
        )
        uri = f"/Accounts/{self.account_sid}/Conferences/{conference}/Participants.json"
        async with self.http.session.request(
            "POST",
            self.participants_url(conference),
            data=form.encode("ascii"),
            headers=self.post_headers,
            allow_redirects=False,
            timeout=self.dial_timeout,
        ) as response:
            status, body = response.status, await response.read()
            if status < 200 or status >= 300:
                answer = Response(status, await response.text(), response.headers)
                raise Version.exception("POST", uri, answer, "Unable to create record")
        # As twilio parses the answer (``json.loads`` of bytes reads UTF-8, as Twilio sends
        # it; the text is decoded only for an error, where twilio's message needs it).
        if body and not isinstance(json.loads(body), dict):
            raise TypeError("Twilio answered a participant that is not a JSON object")

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

    async def fetch_recording(self, recording_sid: str) -> bytes | None:
        """``GET /2010-04-01/Accounts/{sid}/Recordings/{recording_sid}.wav`` with the
        account's credentials; None for a 404 (deleted), ``RecordingNotFetched`` for any
        other failure or a recording larger than a message can be."""
        if not _RECORDING_SID.fullmatch(recording_sid):
            raise RecordingNotFetched("not a recording's reference")
        url = f"{self.api_base}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/"
        headers = {"Authorization": self.post_headers["Authorization"], "Accept": "audio/*"}
        audio = bytearray()
        try:
            async with self.http.session.get(
                url + quote(recording_sid, safe="") + ".wav",
                headers=headers,
                allow_redirects=True,  # aiohttp drops the credentials for another host
                timeout=aiohttp.ClientTimeout(total=RECORDING_TIMEOUT_S),
            ) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise RecordingNotFetched(f"the phone system answered {response.status}")
                if (response.content_length or 0) > MAX_RECORDING_BYTES:
                    raise RecordingNotFetched("the recording is longer than can be played here")
                async for chunk in response.content.iter_chunked(64 * 1024):
                    audio += chunk
                    if len(audio) > MAX_RECORDING_BYTES:
                        raise RecordingNotFetched("the recording is longer than can be played here")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RecordingNotFetched(type(error).__name__) from error
        return bytes(audio)

    async def delete_recording(self, recording_sid: str) -> None:
        """``DELETE /2010-04-01/Accounts/{sid}/Recordings/{recording_sid}.json``; a recording
        already gone (404) counts as deleted, any other failure raises."""
        try:
            await self.client.recordings(recording_sid).delete_async()
        except TwilioRestException as error:
            if error.status != 404:
                raise
