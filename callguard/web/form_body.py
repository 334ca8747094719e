"""A posted form, read: one its sender made so that it cannot be read (a multipart form
without its boundary or cut short, a character set no one knows, an unknown transfer
encoding, a body said to be compressed that is not) is the sender's error, 400 (CONTRACT
§5), never a failure of ours (a 5xx)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from multidict import MultiDictProxy

# What aiohttp's reading of a form raises for such a form, and nothing of ours runs inside
# it (``UnicodeDecodeError``, a ``ValueError``, is answered apart: the form was read but is
# not UTF-8; see ``middlewares``). RuntimeError: a multipart part's unknown transfer encoding.
_UNREADABLE = (ValueError, LookupError, RuntimeError, RequestPayloadError)


class FormUnreadable(Exception):
    """The request's form could not be read."""


async def posted_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """``request.post()``, or ``FormUnreadable``."""
    try:
        return await request.post()
    except UnicodeDecodeError:
        raise
    except _UNREADABLE as error:
        raise FormUnreadable(str(error)[:200]) from error
