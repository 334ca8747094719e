"""Logging: one JSON object per line (or one text line per record), with any phone number
that slips into a message masked (the code masks numbers itself; this is the safety net for
UK GDPR), control characters escaped, and secrets hidden.

Escaping: a value that reaches a log (a user name, a header, a form field) cannot start a
line of its own: newlines, carriage returns, escape sequences and every other control
character (C0, DEL, C1, and the Unicode line and paragraph separators) are written as
``\\n``, ``\\x1b``, ``\\u2028`` and so on. In the text format a traceback keeps its lines,
each indented under the record it belongs to, its control characters escaped too.

Secrets: an argon2 password hash or a CallGuard API token anywhere in a message is replaced
by a marker, whatever logged it."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestPayloadError

from callguard.phones import mask_phone

# Digit runs that look like phone numbers: 9 to 15 digits, single spaces allowed between
# them, an optional plus. Hyphens are not allowed, so dates and times are left alone.
_PHONE = re.compile(r"(?<![\w*:,.-])\+?\d(?: ?\d){8,14}(?![\w*:,.-])")
# Characters that could end a line or drive a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Not JSON-escaped by json.dumps(ensure_ascii=False), and read as line ends by some readers.
_JSON_RAW_CONTROL = re.compile(r"[\x7f-\x9f\u2028\u2029]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SECRETS = (
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\"]*"), "[password hash hidden]"),
    (re.compile(r"\bcg_[A-Za-z0-9_-]{16,}"), "[token hidden]"),
)


def mask_phones_in(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(0).replace(" ", "")), text)


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character written as an escape."""
    return _CONTROL.sub(lambda m: _escape(m.group(0)), text)


def hide_secrets(text: str) -> str:
    for pattern, marker in _SECRETS:
        text = pattern.sub(marker, text)
    return text


def _safe(text: str) -> str:
    return hide_secrets(mask_phones_in(text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _safe(record.getMessage()),
        }
        if record.exc_info:
            entry["error"] = _safe(self.formatException(record.exc_info))
        line = json.dumps(entry, ensure_ascii=False)  # escapes C0 controls itself
        return _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", line)


class MaskingFormatter(logging.Formatter):
    """The text format: one line per record, its message escaped; a traceback follows,
    each of its lines indented (so nothing in it can pass for a record of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(_safe(record.getMessage()))
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        extra = []
        if record.exc_info:
            extra.append(self.formatException(record.exc_info))
        elif record.exc_text:
            extra.append(record.exc_text)
        if record.stack_info:
            extra.append(self.formatStack(record.stack_info))
        for block in extra:
            for line in block.splitlines():
                text += "\n    | " + escape_controls(_safe(line))
        return text


class UnreadableRequests(logging.Filter):
    """aiohttp logs a request it could not read at all (a line or header longer than it
    reads, something that is not HTTP, a body said to be compressed that is not) as an ERROR
    with a traceback and the start of what was sent. That is the sender's error, and the
    internet sends plenty: it is said in one line at WARNING (or the level aiohttp gave, if
    lower), with where it came from but without what was sent, so that errors mean something
    went wrong here."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, LineTooLong):
            what = "a line or header too long"
        elif isinstance(error, BadHttpMethod):
            what = "not an HTTP request"
        elif isinstance(error, HttpProcessingError) and error.code < 500:
            what = "not a well-formed HTTP request"
        elif isinstance(error, RequestPayloadError):
            what = "a body that could not be decoded"
        else:
            return True
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        sender = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.msg = "refused a request that could not be read (%s)" + (
            " from %s" if sender else ""
        )
        record.args = (what, sender) if sender else (what,)
        record.exc_info = record.exc_text = None
        return True


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler narrates every job it adds and runs at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, UnreadableRequests) for f in server.filters):
        server.addFilter(UnreadableRequests())
