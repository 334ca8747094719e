"""Webhook paths and the callback URLs handed to Twilio, under ``CALLGUARD_PUBLIC_URL``.

Twilio signs the exact URL it requests, which is the one built here, so the signature
check (``webhooks.signature``) uses the same public URL plus the request's raw path.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlencode, urlsplit

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


# A path on this site: "/" then printable ASCII only (no space, no control character, no
# backslash: browsers read "/\\host" as "//host", and drop tabs and newlines inside URLs).
_LOCAL_PATH = re.compile(r"/[!-\[\]-~]*")
# Once decoded: no backslash and no control character (C0, DEL, C1).
_UNSAFE_DECODED = re.compile(r"[\\\x00-\x1f\x7f-\x9f]")


def safe_local_path(target: str, *, refuse: tuple[str, ...] = ()) -> str | None:
    """``target`` when it can only lead to a path on CallGuard itself, else None (an open
    redirect otherwise). Checked as given and once percent-decoded, since some browsers and
    proxies decode before they resolve: ``//evil``, ``/\\evil``, ``/%5Cevil``,
    ``https://evil``, ``/%2F%2Fevil`` and anything with a control character are refused.
    Paths starting with one of ``refuse`` are refused too (e.g. the sign-in page itself)."""
    if not target or len(target) > 2000 or not _LOCAL_PATH.fullmatch(target):
        return None
    decoded = unquote(target)
    if _UNSAFE_DECODED.search(decoded):
        return None
    for form in (target, decoded):
        parts = urlsplit(form)
        if form.startswith("//") or parts.scheme or parts.netloc:
            return None
        if refuse and parts.path.startswith(refuse):
            return None
    return target
