"""``X-Twilio-Signature`` checks with twilio's own ``RequestValidator``.

The URL checked is ``CALLGUARD_PUBLIC_URL`` + the raw path and query of the request, never
the Host header or scheme the request arrived with: behind a TLS-terminating proxy those
differ from what Twilio signed. The validator itself tries the URL with and without the
default port, the other known pitfall. Every form parameter counts, repeated ones included
(the form is passed as a multi-dict).
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

MAX_FORM_BYTES = 64 * 1024


class SignatureChecker:
    def __init__(self, public_url: str, auth_token: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)

    def url_for(self, request: web.Request) -> str:
        return self.public_url + request.raw_path

    async def verified_form(self, request: web.Request) -> MultiDictProxy[str]:
        """The request's form if its signature is right; else 403 and nothing happens."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise web.HTTPForbidden(text="missing X-Twilio-Signature")
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_FORM_BYTES, actual_size=request.content_length
            )
        raw = await request.post()
        form = MultiDictProxy(MultiDict((k, v) for k, v in raw.items() if isinstance(v, str)))
        if len(form) != len(raw):
            raise web.HTTPBadRequest(text="file uploads are not accepted")
        if not self.validator.validate(self.url_for(request), form, signature):
            raise web.HTTPForbidden(text="bad X-Twilio-Signature")
        return form
