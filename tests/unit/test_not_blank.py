"""Text a person must fill in is refused when it holds nothing but white space, by the
validators and by the pattern the OpenAPI document publishes, which a client checks with
JavaScript's regular expressions (where a byte order mark is white space)."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from callguard.domain.fields import NOT_BLANK_PATTERN, ShortText

pytestmark = pytest.mark.timeout(10)

SHORT_TEXT = TypeAdapter(ShortText)


@pytest.mark.parametrize("blank", [" ", "\t\n", "\ufeff", " \ufeff ", "\u3000", "\u00a0"])
def test_blank_text_is_refused(blank: str) -> None:
    with pytest.raises(ValidationError, match=r"must not be empty|should match pattern"):
        SHORT_TEXT.validate_python(blank)


@pytest.mark.parametrize("text", ["Jo", " Jo ", "\ufeffJo", "0", "\u00e6"])
def test_text_with_something_in_it_is_kept(text: str) -> None:
    kept = SHORT_TEXT.validate_python(text)
    assert kept == text.strip()
    # What is kept matches the published pattern as Python reads it (JavaScript reads
    # \\s as Python does, and also as a byte order mark).
    assert re.search(NOT_BLANK_PATTERN, kept)
    assert re.search(NOT_BLANK_PATTERN, kept.replace("\ufeff", ""))
