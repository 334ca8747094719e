"""Logs (CONTRACT §5): text that reaches a log cannot forge a log line, in the text and the
JSON format; no password hash or API token is ever written, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from callguard.logs import JsonFormatter, MaskingFormatter

pytestmark = pytest.mark.timeout(10)

FORGERY = "sam\n2026-12-04 19:00:00,000 INFO callguard.web.auth ada.admin signed in (admin)"
HOSTILE = [
    FORGERY,
    "sam\r2026-12-04 INFO forged",
    "sam\x1b[2Jcleared",
    "sam\u2028forged",
    "sam\u2029forged",
    "sam\x85forged",
    "sam\x0bforged\x0cagain\x1cand\x1d\x1e",
    "sam\x00nul\x7fdel",
]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        JsonFormatter() if request.param == "json" else MaskingFormatter(TEXT_FORMAT)
    )
    logger = logging.getLogger("callguard.test.security")
    logger.addHandler(handler)
    logger.propagate = False
    yield request.param, out
    logger.removeHandler(handler)
    logger.propagate = True


def _lines(out: io.StringIO) -> list[str]:
    # Every way a reader might split lines (str.splitlines knows the most).
    return out.getvalue().splitlines()


def test_a_value_with_control_characters_stays_on_its_own_line(
    captured: tuple[str, io.StringIO],
) -> None:
    kind, out = captured
    logger = logging.getLogger("callguard.test.security")
    for value in HOSTILE:
        logger.warning("sign-in refused: %s is locked", value)
    lines = _lines(out)
    assert len(lines) == len(HOSTILE)
    for line in lines:
        assert "refused" in line
    if kind == "json":
        assert [json.loads(line)["message"] for line in lines] == [
            f"sign-in refused: {value} is locked" for value in HOSTILE
        ]
    else:
        assert "sam\\n2026-12-04" in lines[0]
        assert "\\x1b[2J" in lines[2]
        assert "\\u2028" in lines[3]


def test_a_traceback_cannot_pass_for_a_record_of_its_own(
    captured: tuple[str, io.StringIO],
) -> None:
    kind, out = captured
    logger = logging.getLogger("callguard.test.security")
    try:
        raise ValueError(FORGERY)
    except ValueError:
        logger.exception("unexpected failure on %s %s", "POST", "/sign-in\nforged")
    lines = _lines(out)
    if kind == "json":
        assert len(lines) == 1
        assert "forged" in json.loads(lines[0])["message"]
    else:
        assert lines[0].endswith("unexpected failure on POST /sign-in\\nforged")
        assert all(line.startswith("    | ") for line in lines[1:])


def test_no_password_hash_or_token_is_ever_written(captured: tuple[str, io.StringIO]) -> None:
    _kind, out = captured
    logger = logging.getLogger("callguard.test.security")
    hashed = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a password")
    token = "cg_" + "A1b2_C3d4-" * 4
    logger.error("could not read user %r", hashed[:40])
    logger.error("stored %s", hashed)
    logger.error("token %s for sam", token)
    text = out.getvalue()
    assert "$argon2" not in text
    assert hashed[20:] not in text
    assert token not in text
    assert "[password hash hidden]" in text
    assert "[token hidden]" in text
