"""Reasons for invalid input, in words (the API's ``{"field": ..., "reason": ...}``, an
import's lines): never a type's name, a pattern, a library's code or the value sent (which
may be long, or someone's personal data). pydantic's errors by their type; a reason of our
own (a validator's ``ValueError``) is already in words and passes through. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callguard.domain.fields import EMAIL_PATTERN, HHMM_PATTERN, NOT_BLANK_PATTERN, PHONE_PATTERN
from callguard.domain.notes import CALL_SID_PATTERN
from callguard.domain.users import USER_NAME_PATTERN

_PATTERNS = {
    NOT_BLANK_PATTERN: "must not be empty",
    PHONE_PATTERN: "must be a telephone number, such as 01772 000000 or +44 7700 900123",
    EMAIL_PATTERN: "must be an email address, such as name@example.org",
    HHMM_PATTERN: "must be a time on the 24-hour clock, such as 09:30 (24:00 for midnight)",
    CALL_SID_PATTERN: "must be a call's reference as Twilio gives it: CA and 32 letters and digits",
    USER_NAME_PATTERN: "may hold only letters, digits, full stops, underscores, @ and hyphens",
}
_DATE = "must be a date, such as 2026-11-27"
_DATETIME = "must be a date and time with its offset, such as 2026-11-27T14:30:00+00:00"
# pydantic's error types, in words; those with a limit are worded apart (``reason_for``).
_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a field this takes",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "is too large a number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "timezone_aware": _DATETIME,
    "time_type": "must be a time, such as 14:30",
    "time_parsing": "must be a time, such as 14:30",
    "none_required": "must be null",
    "is_instance_of": "is not of a kind this takes",
}


def where(item: Mapping[str, Any]) -> tuple[str | int, ...]:
    """The error's place: a tagged union's error (a restriction's ``kind`` missing or
    unknown) is placed on its tag, as the field to correct."""
    loc = tuple(item.get("loc", ()))
    if str(item.get("type")) in ("union_tag_invalid", "union_tag_not_found"):
        tag = str((item.get("ctx") or {}).get("discriminator", "")).strip("'")
        return (*loc, tag) if tag else loc
    return loc


def reason_for(item: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in words."""
    kind = str(item.get("type", ""))
    ctx: Mapping[str, Any] = item.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return (
            str(item.get("msg", ""))
            .removeprefix("Value error, ")
            .removeprefix("Assertion failed, ")
        )
    if kind in _WORDS:
        return _WORDS[kind]
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), "is not in the form this field takes")
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must be at least {least} characters"
    if kind == "string_too_long":
        return f"must be {ctx.get('max_length')} characters or fewer"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind == "too_long":
        return f"must have no more than {ctx.get('max_length')} items"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {ctx.get('ge', ctx.get('gt'))} or more"
    if kind in ("less_than_equal", "less_than"):
        return f"must be {ctx.get('le', ctx.get('lt'))} or less"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    if kind == "union_tag_invalid":  # placed on the tag itself (``where``)
        return f"must be one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "is required"
    return "is not a value this field takes"
