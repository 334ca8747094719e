"""Webhook paths and the callback URLs handed to Twilio, under ``CALLGUARD_PUBLIC_URL``.

Twilio signs the exact URL it requests, which is the one built here, so the signature
check (``webhooks.signature``) uses the same public URL plus the request's raw path.
"""

from __future__ import annotations

from urllib.parse import urlencode

VOICE = "/webhooks/twilio/voice"
STATUS = "/webhooks/twilio/status"
FALLBACK = "/webhooks/twilio/fallback"
CONFERENCE = "/webhooks/twilio/conference"
LEG = "/webhooks/twilio/leg"
GATHER = "/webhooks/twilio/gather"
MESSAGE = "/webhooks/twilio/message"
RECORDING = "/webhooks/twilio/recording"
UNANSWERED = "/webhooks/twilio/unanswered"
ANNOUNCE = "/webhooks/twilio/announce"


class Callbacks:
    def __init__(self, public_url: str) -> None:
        self.base = public_url.rstrip("/")

    def url(self, path: str, **query: str) -> str:
        return self.base + path + (("?" + urlencode(sorted(query.items()))) if query else "")

    def conference(self, call_sid: str) -> str:
        return self.url(CONFERENCE, call_sid=call_sid)

    def leg(self, call_sid: str) -> str:
        return self.url(LEG, call_sid=call_sid)

    def gather(self, call_sid: str) -> str:
        return self.url(GATHER, call_sid=call_sid)

    def message(self, call_sid: str, *, new_matter: bool = False, for_spoc: bool = False) -> str:
        return self.url(
            MESSAGE,
            call_sid=call_sid,
            new_matter=str(int(new_matter)),
            for_spoc=str(int(for_spoc)),
        )

    def recording(self, call_sid: str) -> str:
        return self.url(RECORDING, call_sid=call_sid)

    def unanswered(self, call_sid: str) -> str:
        return self.url(UNANSWERED, call_sid=call_sid)

    def announce(self, call_sid: str, *, kind: str, reason: str) -> str:
        return self.url(ANNOUNCE, call_sid=call_sid, kind=kind, reason=reason)


def conference_name(call_sid: str) -> str:
    """One conference per inbound call, named after it."""
    return f"cg-{call_sid}"
