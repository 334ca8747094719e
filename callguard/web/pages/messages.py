"""Validation errors in words, the GOV.UK way ("Enter the person's name"), in one place.

Every form's problems come through here: pydantic's errors (by field and error type) from
``words_for_error``, and the register's own rules, the services' refusals and the pages'
checks (by field and the reason they give) from ``words_for_reason``. Field paths are the
API's (``restrictions[1].windows[0].end``); indexes are dropped for the look-up, so no
message ever names one. A reason that is already in words passes through unchanged.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from callguard import wording

LIKE_DATE = "like 15 2 2027"
LIKE_PHONE = "like 07700 900 982"
LIKE_TIME = "like 9:30am or 14:00"


@dataclass(frozen=True)
class Field:
    """What to say about one field: when it is empty, when it is not right, and its name
    inside a sentence ("the date the review is due must be …")."""

    empty: str
    invalid: str
    name: str
    items: str = ""  # for a list: what one item is called ("phone numbers")


FIELDS: dict[str, Field] = {
    # people
    "name": Field("Enter the person's name", "Enter the person's name", "the name"),
    "phones": Field(
        "Enter a phone number",
        f"Enter a phone number, {LIKE_PHONE}",
        "the phone numbers",
        "phone numbers",
    ),
    "emails": Field(
        "Enter an email address",
        "Enter an email address in the correct format, like name@example.com",
        "the email addresses",
        "email addresses",
    ),
    "reasonable_adjustments": Field(
        "Choose the reasonable adjustments", "Choose the reasonable adjustments", "adjustments"
    ),
    "reasonable_adjustments.detail": Field(
        "Enter the details of the adjustment",
        "Enter the details of the adjustment",
        "the details of the adjustment",
    ),
    # strategies
    "person_id": Field("Choose a person", "Choose a person from the list", "the person"),
    "matter_ref": Field(
        "Enter the matter reference",
        "Enter the matter reference, like CMP-2026-0142",
        "the matter reference",
    ),
    "reason": Field("Enter the reason for the strategy", "Enter the reason", "the reason"),
    "restrictions": Field(
        "Choose at least one restriction", "Choose the restrictions", "the restrictions"
    ),
    "restrictions.windows": Field(
        "Enter at least one call window", "Enter the call windows", "the call windows"
    ),
    "restrictions.windows.days": Field(
        "Choose at least one day for the window",
        "Choose the days of the window",
        "the days of the window",
    ),
    "restrictions.windows.start": Field(
        f"Enter the time calls may start, {LIKE_TIME}",
        f"Enter a time, {LIKE_TIME}",
        "the start time",
    ),
    "restrictions.windows.end": Field(
        f"Enter the time calls must end by, {LIKE_TIME}",
        f"Enter a time, {LIKE_TIME}",
        "the end time",
    ),
    "restrictions.max_calls": Field(
        "Enter the number of calls allowed, like 2",
        "Enter the number of calls allowed as a whole number, like 2",
        "the number of calls allowed",
    ),
    "restrictions.per": Field(
        "Choose whether the calls are allowed per window, week or month",
        "Choose whether the calls are allowed per window, week or month",
        "how often",
    ),
    "restrictions.max_minutes": Field(
        "Enter the longest call in minutes, like 20",
        "Enter the longest call in minutes as a whole number, like 20",
        "the longest call",
    ),
    "restrictions.name": Field(
        "Enter the name of the single point of contact",
        "Enter the name of the single point of contact",
        "the name of the single point of contact",
    ),
    "restrictions.phone": Field(
        "Enter the phone number of the single point of contact",
        f"Enter a phone number, {LIKE_PHONE}, or a SIP address, like sip:jo@example.org",
        "the number of the single point of contact",
    ),
    "restrictions.email": Field(
        "Enter the email address to write to",
        "Enter an email address in the correct format, like name@example.com",
        "the email address",
    ),
    "restrictions.postal_address": Field(
        "Enter the postal address to write to", "Enter the postal address", "the postal address"
    ),
    "restrictions.advocate_phones": Field(
        "Enter the advocate's phone number",
        f"Enter the advocate's phone number, {LIKE_PHONE}",
        "the advocates' phone numbers",
        "phone numbers",
    ),
    "adjustment_override": Field(
        "Enter why the restriction overrides the adjustment, and who gave equality advice",
        "Enter why the restriction overrides the adjustment, and who gave equality advice",
        "the override",
    ),
    "adjustment_override.justification": Field(
        "Enter the justification for overriding the adjustment",
        "Enter the justification",
        "the justification",
    ),
    "adjustment_override.equality_advice_from": Field(
        "Enter who gave the equality advice", "Enter who gave the equality advice", "the name"
    ),
    "review_due": Field(
        f"Enter the date the review is due, {LIKE_DATE}",
        f"The date the review is due must be a real date, {LIKE_DATE}",
        "the date the review is due",
    ),
    "next_review_due": Field(
        f"Enter the date of the next review, {LIKE_DATE}",
        f"The date of the next review must be a real date, {LIKE_DATE}",
        "the date of the next review",
    ),
    "notified_on": Field(
        f"Enter the date the person was told, {LIKE_DATE}",
        f"The date the person was told must be a real date, {LIKE_DATE}",
        "the date the person was told",
    ),
    "why": Field("Enter why", "Enter why", "the reason"),
    "notes": Field("Enter the review notes", "Enter the review notes", "the review notes"),
    "review_notes": Field("Enter the review notes", "Enter the review notes", "the review notes"),
    "outcome": Field(
        "Choose the outcome of the review", "Choose the outcome of the review", "the outcome"
    ),
    "expected_version": Field(
        "This page is out of date: reload it and try again",
        "This page is out of date: reload it and try again",
        "the version",
    ),
    "changes": Field(
        "Change at least one thing to save a revision",
        "Change at least one thing to save a revision",
        "the changes",
    ),
    # file notes
    "summary": Field("Enter what was said or done", "Enter what was said or done", "the summary"),
    "why_ended": Field(
        "Enter why the call was ended", "Enter why the call was ended", "why the call ended"
    ),
    "actions_taken": Field(
        "Enter the other actions taken", "Enter the other actions taken", "the actions"
    ),
    "line_manager_informed": Field(
        "Tick to confirm you have told your line manager",
        "Tick to confirm you have told your line manager",
        "line manager told",
    ),
    "addendum": Field(
        "Enter the correction or addition", "Enter the correction or addition", "the addendum"
    ),
    # the preview and the call log
    "phone": Field(
        "Enter a phone number", f"Enter a phone number, {LIKE_PHONE}", "the phone number"
    ),
    "since": Field(f"Enter a date, {LIKE_DATE}", f"Enter a real date, {LIKE_DATE}", "the date"),
    "until": Field(f"Enter a date, {LIKE_DATE}", f"Enter a real date, {LIKE_DATE}", "the date"),
}

# Fields whose meaning depends on the form: the user admin's "name" is a user name.
FORM_FIELDS: dict[str, dict[str, Field]] = {
    "user": {
        "name": Field(
            "Enter a user name",
            "Enter a user name using only letters, numbers, dots, hyphens, underscores or @",
            "the user name",
        ),
        "display_name": Field("Enter the full name", "Enter the full name", "the full name"),
        "email": Field(
            "Enter an email address",
            "Enter an email address in the correct format, like name@example.com",
            "the email address",
        ),
        "role": Field("Choose a role", "Choose a role from the list", "the role"),
        "line_manager": Field(
            "Choose a line manager", "Choose a line manager from the list", "the line manager"
        ),
        "password": Field("Enter a password", "Enter a password", "the password"),
    },
    "end": {"why": Field("Enter why the strategy is ending", "Enter why", "the reason")},
    "revise": {
        "why": Field(
            "Enter why the strategy is being revised",
            "Enter why the strategy is being revised",
            "the reason",
        )
    },
}

_EMPTY_TYPES = frozenset(
    {"missing", "string_too_short", "too_short", "none_required", "list_type_empty"}
)
_LONG_TYPES = frozenset({"string_too_long", "too_long"})


def field_key(path: str) -> str:
    """``changes.restrictions[1].windows[0].end`` -> ``restrictions.windows.end``."""
    key = re.sub(r"\[\d+\]", "", path)
    for prefix in ("revision.changes.", "revision.", "changes."):
        key = key.removeprefix(prefix)
    return key


def _field(path: str, form: str) -> Field:
    key = field_key(path)
    found = FORM_FIELDS.get(form, {}).get(key) or FIELDS.get(key)
    if found:
        return found
    label = key.rsplit(".", 1)[-1].replace("_", " ")
    return Field(f"Enter the {label}", f"Enter the {label} in the correct format", f"the {label}")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def words_for_error(item: Mapping[str, Any], path: str, form: str = "") -> str:
    """One pydantic error (``ValidationError.errors()`` item) in words."""
    kind = str(item.get("type", ""))
    ctx = item.get("ctx") or {}
    field = _field(path, form)
    if kind == "value_error":
        return words_for_reason(path, str(item.get("msg", "")).removeprefix("Value error, "), form)
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"\S":
        return field.empty
    if kind in _EMPTY_TYPES:
        return field.empty
    if kind in _LONG_TYPES:
        limit = ctx.get("max_length")
        if kind == "too_long" and field.items:
            return f"Enter no more than {limit} {field.items}"
        return _sentence(f"{field.name} must be {limit} characters or fewer")
    if kind in ("greater_than_equal", "greater_than"):
        return _sentence(f"{field.name} must be {ctx.get('ge', ctx.get('gt'))} or more")
    if kind in ("less_than_equal", "less_than"):
        return _sentence(f"{field.name} must be {ctx.get('le', ctx.get('lt'))} or fewer")
    if kind == "extra_forbidden":
        return "The form sent something CallGuard does not expect: reload the page and try again"
    return field.invalid


Wording = Callable[[Field, "re.Match[str]"], str]
_REASONS: list[tuple[re.Pattern[str], Wording]] = []


def _reason(pattern: str) -> Callable[[Wording], Wording]:
    def register(fn: Wording) -> Wording:
        _REASONS.append((re.compile(pattern), fn))
        return fn

    return register


@_reason(r"^must be after today \((\d{4}-\d\d-\d\d)\)")
def _after_today(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} must be in the future")


@_reason(r"^must be no more than (\d+) calendar months after the start .*: (\d{4}-\d\d-\d\d) at")
def _too_late(field: Field, match: re.Match[str]) -> str:
    latest = wording.long_date(date.fromisoformat(match.group(2)))
    months = match.group(1)
    return _sentence(f"{field.name} must be on or before {latest}, at most {months} months away")


@_reason(r"^must not be in the future")
def _not_future(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} must be today or in the past")


@_reason(r"^required: the person has a needs_phone_contact")
def _override_needed(field: Field, match: re.Match[str]) -> str:
    return (
        "The person needs phone contact (a reasonable adjustment): to allow written contact "
        "only, enter the justification and who gave the equality advice (§2.4, §3.13–3.14)"
    )


@_reason(r"^an advocate's number cannot be")
def _own_number(field: Field, match: re.Match[str]) -> str:
    return "An advocate's phone number cannot be one of the person's own numbers"


@_reason(r"^name at least one field to change")
def _no_change(field: Field, match: re.Match[str]) -> str:
    return "Change at least one thing to save a revision"


@_reason(r"^the ([a-z_]+) role may not set (.+) restrictions")
def _role_may_not(field: Field, match: re.Match[str]) -> str:
    kinds = [k.strip() for k in match.group(2).split(",")]
    named = ", ".join(_KIND_WORDS.get(k, k.replace("_", " ")) for k in kinds)
    role = match.group(1).replace("_", " ")
    return f"A {role} cannot set {named}: only the chief executive can (§8.3)"


_KIND_WORDS = {"no_response": "“no response”", "phone_blocked": "“telephone calls blocked”"}


@_reason(r"^start \((.+)\) must be before end \((.+)\)")
def _start_before_end(field: Field, match: re.Match[str]) -> str:
    return f"The end time must be later than the start time, {match.group(1)}"


@_reason(r"^contains the same value twice")
def _twice(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} include the same one twice: remove one")


@_reason(r"^give an email or a postal_address")
def _some_address(field: Field, match: re.Match[str]) -> str:
    return "Enter an email address or a postal address to write to, or both"


@_reason(r"^next_review_due is required")
def _next_review(field: Field, match: re.Match[str]) -> str:
    return FIELDS["next_review_due"].empty


@_reason(r"^revision is required")
def _revision_needed(field: Field, match: re.Match[str]) -> str:
    return "Record the revision on the revise page"


@_reason(r"^must be a user with the manager or chief executive role")
def _manager_needed(field: Field, match: re.Match[str]) -> str:
    return "Choose a line manager who is a manager or the chief executive"


@_reason(r"^cannot be the user themselves")
def _own_manager(field: Field, match: re.Match[str]) -> str:
    return "A user cannot be their own line manager"


@_reason(r"^a user with this name already exists")
def _user_taken(field: Field, match: re.Match[str]) -> str:
    return "There is already a user with this name: choose another"


@_reason(r"^must (be|not be) (at least|at most|only) ?(.*)")
def _must(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} {match.group(0)}")


@_reason(r"^(not a valid phone number|not a phone number|empty phone number|phone number too)")
def _bad_phone(field: Field, match: re.Match[str]) -> str:
    return field.invalid


@_reason(r"^(not an e-mail address|must be a local time)")
def _bad_format(field: Field, match: re.Match[str]) -> str:
    return field.invalid


@_reason(r"^must not be empty|^required")
def _required(field: Field, match: re.Match[str]) -> str:
    return field.empty


def words_for_reason(path: str, reason: str, form: str = "") -> str:
    """A rule's or a service's reason about a field, in words."""
    field = _field(path, form)
    for pattern, fn in _REASONS:
        match = pattern.search(reason)
        if match:
            return fn(field, match)
    if reason[:1].islower():
        return _sentence(reason)
    return reason


def duplicate_phone(phones: list[str], message: str) -> str:
    """The register's "phones[1] is already held by another person", as the number typed."""
    match = re.search(r"phones\[(\d+)\]", message)
    index = int(match.group(1)) if match else -1
    number = phones[index] if 0 <= index < len(phones) else "One of these numbers"
    return f"{number} is already held by another person"
