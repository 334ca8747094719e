"""Logging: one JSON object per line, with any phone number that slips into a message
masked (the code masks numbers itself; this is the safety net for UK GDPR)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from callguard.phones import mask_phone

# Digit runs that look like phone numbers: 9 to 15 digits, single spaces allowed between
# them, an optional plus. Hyphens are not allowed, so dates and times are left alone.
_PHONE = re.compile(r"(?<![\w*:,.-])\+?\d(?: ?\d){8,14}(?![\w*:,.-])")


def mask_phones_in(text: str) -> str:
    return _PHONE.sub(lambda m: mask_phone(m.group(0).replace(" ", "")), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_phones_in(record.getMessage()),
        }
        if record.exc_info:
            entry["error"] = mask_phones_in(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_phones_in(super().format(record))


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
