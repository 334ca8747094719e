"""``X-Twilio-Signature`` checks with twilio's own ``RequestValidator``.

The URL checked is ``CALLGUARD_PUBLIC_URL`` + the raw path and query of the request, never
the Host header or scheme the request arrived with: behind a TLS-terminating proxy those
differ from what Twilio signed. The validator itself tries the URL with and without the
default port, the other known pitfall. Every form parameter counts, repeated ones included
(the form is passed as a multi-dict).

``SignatureChecker.valid`` is the validator's ``validate`` for a form, short of its waste:
it computes the signature for the URL with the port only when the one without does not
match (``validate`` always computes both), and compares in C (``hmac.compare_digest``),
not a character at a time in Python. Same signatures, same answers; half the work for a
good request.

A Twilio Webhooks Setting (Webhook Rules) signs with its own shared key and algorithm
(HMAC-SHA256) instead, and says so in ``X-Twilio-Webhooks-Signature-Settings:
key=...,algorithm=HMAC_SHA256``: such a request is checked with
``CALLGUARD_TWILIO_WEBHOOK_SHARED_KEY`` and that algorithm, and refused (403) when no
shared key is configured or the algorithm is not one Twilio's validator knows. The signed
string is the same: the URL then the sorted form.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterator
from urllib.parse import urlparse

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

from callguard.web.form_body import FormUnreadable, posted_form

MAX_FORM_BYTES = 64 * 1024
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)


class SignatureChecker:
    def __init__(self, public_url: str, auth_token: str, shared_key: str | None = None) -> None:
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.shared = RequestValidator(shared_key) if shared_key else None

    def url_for(self, request: web.Request) -> str:
        return self.public_url + request.raw_path

    def valid(
        self,
        url: str,
        form: MultiDictProxy[str],
        signature: str,
        validator: RequestValidator | None = None,
        algorithm: str = HMAC_SHA1,
    ) -> bool:
        """``validator.validate(url, form, signature, algorithm)``: the signature of
        ``url`` without its port, or with the default port, and the form (by default the
        auth token's HMAC-SHA1)."""
        if not signature.isascii():  # never equal to a base64 signature
            return False
        signer = validator or self.validator
        return any(
            hmac.compare_digest(signer.compute_signature(candidate, form, algorithm), signature)
            for candidate in _candidates(url)
        )

    def _signer(self, request: web.Request) -> tuple[RequestValidator, str]:
        """The validator and algorithm the request says it was signed with."""
        settings = request.headers.get(SETTINGS_HEADER, "")
        if not settings:
            return self.validator, HMAC_SHA1
        algorithm = get_signature_algorithm(settings).upper()
        if algorithm not in ALGORITHMS:
            raise web.HTTPForbidden(text=f"unsupported signature algorithm {algorithm[:40]!r}")
        if self.shared is None:
            raise web.HTTPForbidden(
                text="signed with a Webhooks Setting's shared key: "
                "CALLGUARD_TWILIO_WEBHOOK_SHARED_KEY is not set"
            )
        return self.shared, algorithm

    async def verified_form(self, request: web.Request) -> MultiDictProxy[str]:
        """The request's form if its signature is right; else 403 and nothing happens."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise web.HTTPForbidden(text="missing X-Twilio-Signature")
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_FORM_BYTES, actual_size=request.content_length
            )
        try:
            raw = await posted_form(request)
        except FormUnreadable:
            raise web.HTTPBadRequest(text="the form could not be read") from None
        form = MultiDictProxy(MultiDict((k, v) for k, v in raw.items() if isinstance(v, str)))
        if len(form) != len(raw):
            raise web.HTTPBadRequest(text="file uploads are not accepted")
        validator, algorithm = self._signer(request)
        if not self.valid(self.url_for(request), form, signature, validator, algorithm):
            raise web.HTTPForbidden(text="bad X-Twilio-Signature")
        return form


def _candidates(url: str) -> Iterator[str]:
    """The URLs a signature may be of: twilio's ``remove_port`` of it, then ``add_port``
    (worked out only if the first did not match)."""
    yield _without_port(url)
    yield str(add_port(urlparse(url)))


@functools.lru_cache(maxsize=64)
def _without_port(url: str) -> str:
    """``remove_port(urlparse(url))``, remembered: the voice URL, signed on every inbound
    call, is always the same."""
    return str(remove_port(urlparse(url)))
