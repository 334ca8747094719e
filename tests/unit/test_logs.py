"""Logs are JSON lines and never carry a whole phone number."""

from __future__ import annotations

import json
import logging

import pytest

from callguard.logs import JsonFormatter, MaskingFormatter, mask_phones_in

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call from +447700900123 refused", "call from +44*******123 refused"),
        ("caller 07700 900123 again", "caller 077*****123 again"),
        ("sid CA0123456789abcdef is not a number", "sid CA0123456789abcdef is not a number"),
        ("took 1234 ms", "took 1234 ms"),
        ("2026-11-28 17:10:25,916 INFO started", "2026-11-28 17:10:25,916 INFO started"),
        ("at 2026-11-28T17:10:25+00:00", "at 2026-11-28T17:10:25+00:00"),
        ("already masked +44*******123", "already masked +44*******123"),
    ],
)
def test_phone_numbers_in_messages_are_masked(text: str, masked: str) -> None:
    assert mask_phones_in(text) == masked


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("callguard.test", logging.WARNING, __file__, 1, message, args, None)


def test_json_lines_carry_level_logger_and_a_masked_message() -> None:
    line = JsonFormatter().format(record("refused %s", "+447700900123"))
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "callguard.test"
    assert entry["message"] == "refused +44*******123"
    assert entry["at"].endswith("+00:00")


def test_text_logs_are_masked_too() -> None:
    text = MaskingFormatter("%(message)s").format(record("from %s", "447700900123"))
    assert text == "from 447******123"
