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
from datetime import date
from typing import Any

from callguard import wording
from callguard.web.pages.field_words import (
    FIELDS,
    FORM_FIELDS,
    Field,
)

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


_sentence = wording.sentence


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
        limit = f"{ctx['max_length']:,}" if isinstance(ctx.get("max_length"), int) else "?"
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


@_reason(r"^required: the person has a ([a-z_]+) reasonable adjustment, so (.+) needs a ")
def _override_needed(field: Field, match: re.Match[str]) -> str:
    adjustment = _ADJUSTMENT_WORDS.get(match.group(1), match.group(1).replace("_", " "))
    kinds = [k.strip() for k in match.group(2).split(" and ")]
    named = " and ".join(_RESTRICTION_WORDS.get(k, k.replace("_", " ")) for k in kinds)
    return (
        f"The person {adjustment} (a reasonable adjustment): to set {named}, enter the "
        "justification and who gave the equality advice (§2.4, §3.13–3.14)"
    )


@_reason(r"^an interim measure may hold only (.+); (.+) must wait until")
def _not_interim(field: Field, match: re.Match[str]) -> str:
    def named(kinds: str, last: str) -> str:
        words = [_RESTRICTION_WORDS.get(k.strip(), k.strip()) for k in kinds.split(",")]
        return ", ".join(words[:-1]) + f" {last} " + words[-1] if len(words) > 1 else words[0]

    return (
        f"An interim measure can only be {named(match.group(1), 'or')}: "
        f"{named(match.group(2), 'and')} can apply only once the person has been told in "
        "writing (§3.6)"
    )


@_reason(r"^not needed: notified_on says the person has been told")
def _interim_not_needed(field: Field, match: re.Match[str]) -> str:
    return "The person has already been told, so this is not an interim measure: untick it"


_ADJUSTMENT_WORDS = {
    "needs_phone_contact": "needs phone contact",
    "needs_extra_time": "needs extra time",
    "needs_interpreter": "needs an interpreter",
    "needs_advocate_support": "needs advocate support",
    "large_print": "needs large print",
    "easy_read": "needs easy read",
}
_RESTRICTION_WORDS = {
    "call_windows": "calls only at set times",
    "spoc": "a single point of contact",
    "recorded": "recorded calls",
    "written_only": "written contact only",
    "advocate_only": "contact only through an advocate",
    "phone_blocked": "telephone calls blocked",
    "no_response": "no response",
}


@_reason(r"^an advocate's number cannot be")
def _own_number(field: Field, match: re.Match[str]) -> str:
    return "An advocate's phone number cannot be one of the person's own numbers"


@_reason(r"^contains characters that cannot be seen(.*)")
def _hidden(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} contains characters that cannot be seen{match.group(1)}")


@_reason(r"^no person ")
def _no_person(field: Field, match: re.Match[str]) -> str:
    return "Choose a person from the list"


@_reason(r"^name at least one field to change")
def _no_change(field: Field, match: re.Match[str]) -> str:
    return "Change at least one thing to save a revision"


@_reason(r"^the ([a-z_]+) role may not (?:set|create) (.+?) restrictions")
def _role_may_not(field: Field, match: re.Match[str]) -> str:
    kinds = [k.strip() for k in match.group(2).split(",")]
    named = ", ".join(_KIND_WORDS.get(k, k.replace("_", " ")) for k in kinds)
    role = match.group(1).replace("_", " ")
    return f"A {role} cannot set {named}: only the chief executive can (§8.3)"


_KIND_WORDS = {"no_response": "“no response”", "phone_blocked": "“telephone calls blocked”"}


@_reason(r"^start \((.+)\) must be before end \((.+)\)")
def _start_before_end(field: Field, match: re.Match[str]) -> str:
    start = match.group(1)
    said = wording.clock_time(start) if re.fullmatch(r"\d{2}:\d{2}", start) else start
    return f"The end time must be later than the start time, {said}"


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


@_reason(r"^must be on or after the day the strategy started \((\d{4}-\d\d-\d\d)\)")
def _after_start(field: Field, match: re.Match[str]) -> str:
    started = wording.long_date(date.fromisoformat(match.group(1)))
    return _sentence(f"{field.name} must be on or after {started}, when the strategy started")


@_reason(r"^was involved in the strategy")
def _involved(field: Field, match: re.Match[str]) -> str:
    return "Choose someone who did not create, revise or review the strategy"


@_reason(r"^must be a manager or the chief executive")
def _senior(field: Field, match: re.Match[str]) -> str:
    return "Choose a manager or the chief executive"


@_reason(r"^cannot sign in \(their account is disabled\)")
def _disabled_decider(field: Field, match: re.Match[str]) -> str:
    return "Choose someone who can sign in: this person's account is disabled"


@_reason(r"^there is no user called")
def _no_user(field: Field, match: re.Match[str]) -> str:
    return field.invalid


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


CHANGED_MEANWHILE = (
    "Someone else changed this person’s details while you were changing them, so your "
    "changes were not saved. The form now shows their details as they are: make your "
    "changes again"
)


def duplicate_phone(phones: list[str], message: str) -> str:
    """The register's "phones[1] is already held by another person", as the number typed."""
    match = re.search(r"phones\[(\d+)\]", message)
    index = int(match.group(1)) if match else -1
    number = phones[index] if 0 <= index < len(phones) else "One of these numbers"
    return f"{number} is already held by another person"


@_reason(r"^must not be before the request was received")
def _before_received(field: Field, match: re.Match[str]) -> str:
    return _sentence(f"{field.name} must be on or after the date the request was received")


def stale_version(current: int, kept_what_was_typed: bool = False) -> str:
    """A form sent against a version of the strategy that another change has replaced."""
    said = (
        "Someone else changed this strategy while you were working on it, so nothing was "
        f"saved. It is now version {current}"
    )
    if kept_what_was_typed:
        return f"{said}: check it below, then send what you entered again"
    return f"{said}, shown below: make your changes to it again"
