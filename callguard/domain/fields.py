"""The value types the domain models are made of: days, phone numbers, routes, e-mail
addresses, local times and text, each checked as it is parsed. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo

from callguard.phones import InvalidPhone, normalise_phone, normalise_route

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# The validation context for what the store holds (``Model.model_validate(data,
# context=STORED)``): a number there was checked when it was written, and one the numbering
# plan as libphonenumber has it today does not take is read as it was stored. A range
# withdrawn since would otherwise make the record unreadable: its strategy unscreened (the
# caller connected by the fail-open path), its person and the pages and duties that list
# them failing.
STORED: Mapping[str, bool] = MappingProxyType({"stored": True})


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def _phone(value: str, info: ValidationInfo) -> str:
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        if _stored(info):
            return value
        raise ValueError(str(exc)) from exc


def _route(value: str, info: ValidationInfo) -> str:
    try:
        return normalise_route(value)
    except InvalidPhone as exc:
        if _stored(info):
            return value
        raise ValueError(str(exc)) from exc


def _email(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(EMAIL_PATTERN, value):
        raise ValueError("not an e-mail address")
    return value


def _hhmm(value: str) -> str:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00", value):
        raise ValueError("must be a local time HH:MM")
    return value


def _not_blank(value: str) -> str:
    value = value.strip()
    # A byte order mark is blank too (JavaScript's \s, and so the OpenAPI pattern, count it
    # as white space; Python's does not).
    if not value.replace("\ufeff", "").strip():
        raise ValueError("must not be empty")
    return value


# Characters that can hide or disguise what text says: control characters (a null, say)
# but tab and line breaks, and the two marks that reverse how text reads (a right-to-left
# override can make a name read as another). Line breaks of other kinds that pasted text
# carries (Word's page break, PowerPoint's line break, a Unicode line or paragraph
# separator) become line breaks; the marks that embed or isolate a direction of writing,
# which phones put around names in mixed scripts, are kept, as are joiners and soft hyphens.
_HIDDEN = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202d\u202e]")
_OTHER_LINE_BREAKS = re.compile("[\x0b\x0c\x85\u2028\u2029]")


HIDDEN_CHARACTERS = (
    "contains characters that cannot be seen, usually from copying and pasting: type it again"
)


def has_hidden_characters(text: str) -> bool:
    """Whether ``text`` holds a character that hides or disguises what it says."""
    return bool(_HIDDEN.search(text))


def _no_hidden(value: str, info: ValidationInfo) -> str:
    if _stored(info):
        return value
    value = _OTHER_LINE_BREAKS.sub("\n", value)
    if has_hidden_characters(value):
        raise ValueError(HIDDEN_CHARACTERS)
    return value


# The patterns put in the OpenAPI document what the validators check (a phone must
# also parse as a real number; that the schema cannot say).
NOT_BLANK_PATTERN = r"[^\s\ufeff]"
PHONE_PATTERN = r"^[(+]{0,2}[0-9][0-9 ()./-]*$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$"
HHMM_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
Phone = Annotated[
    str,
    Field(min_length=3, max_length=40, pattern=PHONE_PATTERN),
    AfterValidator(_phone),
]
Route = Annotated[str, Field(min_length=3, max_length=200), AfterValidator(_route)]
Email = Annotated[
    str,
    Field(max_length=320, pattern=EMAIL_PATTERN),
    AfterValidator(_email),
]
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN), AfterValidator(_hhmm)]
Text = Annotated[
    str,
    Field(min_length=1, max_length=4000, pattern=NOT_BLANK_PATTERN),
    AfterValidator(_not_blank),
    AfterValidator(_no_hidden),
]
ShortText = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=NOT_BLANK_PATTERN),
    AfterValidator(_not_blank),
    AfterValidator(_no_hidden),
]
MatterRef = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=NOT_BLANK_PATTERN),
    AfterValidator(_not_blank),
    AfterValidator(_no_hidden),
]
