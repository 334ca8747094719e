"""HTML forms <-> the API's models, and the API's field paths <-> the form's inputs.

The pages validate with the same pydantic models and the same use cases as the JSON API.
A form's inputs are named after the API's field paths, with the restriction's *kind* in
place of its index (the form has one section per kind), so an error such as
``restrictions[1].windows[0].end`` is shown beside the input
``restrictions-call_windows-windows-0-end``. An error about something without an input of
its own (a whole restriction, the list of phones) is shown at the nearest enclosing one.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from callguard import wording
from callguard.domain.fields import DAYS
from callguard.domain.models import RESTRICTION_KINDS, AdjustmentKind, Strategy
from callguard.web.api import field_path
from callguard.web.pages import messages
from callguard.web.pages.typed_dates import clock_time, date_from_parts, date_parts

KINDS = RESTRICTION_KINDS  # the order the form offers them in
KIND_LABELS = {
    "call_windows": "Calls only at set times (call windows)",
    "spoc": "A single point of contact (SPOC) takes the calls",
    "recorded": "Calls are recorded",
    "written_only": "Written contact only",
    "advocate_only": "Contact only through an advocate",
    "phone_blocked": "Telephone calls blocked",
    "no_response": "No response (chief executive only, §8.3–8.6)",
}
DAY_LABELS = dict(
    zip(
        DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
WINDOW_ROWS = 3
ADJUSTMENT_LABELS = {
    AdjustmentKind.needs_phone_contact: "Needs phone contact",
    AdjustmentKind.needs_extra_time: "Needs extra time",
    AdjustmentKind.needs_interpreter: "Needs an interpreter",
    AdjustmentKind.needs_advocate_support: "Needs advocate support",
    AdjustmentKind.large_print: "Large print",
    AdjustmentKind.easy_read: "Easy read",
    AdjustmentKind.other: "Other",
}

Values = dict[str, Any]
FormLike = Mapping[str, str]


@dataclass
class FormErrors:
    """Errors by input id (shown beside the input) and in order (the error summary)."""

    by_id: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)

    def add(self, input_id: str, message: str) -> None:
        self.by_id.setdefault(input_id, []).append(message)
        self.summary.append((input_id, message))

    def __bool__(self) -> bool:
        return bool(self.summary)

    def get(self, input_id: str) -> str | None:
        found = self.by_id.get(input_id)
        return " ".join(found) if found else None


def input_id(path: str, kinds: Sequence[str] = ()) -> str:
    """``restrictions[1].windows[0].end`` -> ``restrictions-call_windows-windows-0-end``."""

    def kind_for(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return f"restrictions-{kinds[index]}" if index < len(kinds) else "restrictions"

    out = re.sub(r"^restrictions\[(\d+)\]", kind_for, path)
    out = re.sub(r"\[(\d+)\]", r"-\1", out)
    return out.replace(".", "-")


def place(
    problems: Iterable[tuple[str, str]],
    known_ids: Iterable[str],
    *,
    kinds: Sequence[str] = (),
    strip_prefix: str = "",
    labels: Mapping[str, str] | None = None,
    form: str = "",
) -> FormErrors:
    """Put each (API field path, reason) beside the input it is about, or the nearest
    enclosing input or section when it has none of its own."""
    known = set(known_ids)
    errors = FormErrors()
    for path, given in problems:
        reason = messages.words_for_reason(path, given, form)
        wanted = input_id(path.removeprefix(strip_prefix), kinds)
        target = wanted
        while target not in known and "-" in target:
            target = target.rsplit("-", 1)[0]
        if target not in known:
            target = next(iter(sorted(known)), "main-content")
        label = (labels or {}).get(target)
        errors.add(target, f"{label}: {reason}" if label and target != wanted else reason)
    return errors


def problems_of(error: ValidationError, form: str = "") -> list[tuple[str, str]]:
    """Each error's field path and what to say about it (see ``messages``)."""
    out = []
    for item in error.errors(include_url=False):
        path = field_path(tuple(item["loc"]))
        out.append((path, messages.words_for_error(item, path, form)))
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,;]", text) if line.strip()]


def _optional(form: FormLike, name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


# --- people ------------------------------------------------------------------------------

PERSON_IDS = (
    "name",
    "phones",
    "emails",
    "reasonable_adjustments",
    *(f"reasonable_adjustments-{k.value}" for k in AdjustmentKind),
)


def person_body(form: FormLike, chosen_adjustments: Sequence[str]) -> Values:
    adjustments = [
        {"kind": kind, "detail": form.get(f"reasonable_adjustments-{kind}-detail", "").strip()}
        for kind in chosen_adjustments
    ]
    return {
        "name": form.get("name", ""),
        "phones": _lines(form.get("phones", "")),
        "emails": _lines(form.get("emails", "")),
        "reasonable_adjustments": adjustments,
    }


def person_errors(problems: Iterable[tuple[str, str]]) -> FormErrors:
    # An adjustment's error (``reasonable_adjustments[0].detail``) is shown at the group; a
    # phone number's or email address's says which of those entered it is about (counted as
    # the form reads them: by line, comma or semicolon, blank ones left out).
    cleaned = []
    for path, reason in problems:
        entry = re.fullmatch(r"(phones|emails)\[(\d+)\]", path)
        if entry:
            said = messages.words_for_reason(path, reason)
            which = "phone number" if entry.group(1) == "phones" else "email address"
            nth = wording.ordinal(int(entry.group(2)) + 1)
            path = entry.group(1)
            reason = f"The {nth} {which}: {wording.mid_sentence(said)}"
        cleaned.append(
            (re.sub(r"^reasonable_adjustments\[\d+\].*", "reasonable_adjustments", path), reason)
        )
    return place(cleaned, PERSON_IDS)


# --- strategies ---------------------------------------------------------------------------


def strategy_ids() -> list[str]:
    ids = [
        "person_id",
        "matter_ref",
        "reason",
        "restrictions",
        "notified_on",
        "review_due",
        "adjustment_override",
        "adjustment_override-justification",
        "adjustment_override-equality_advice_from",
        "why",
        "review_notes",
        "changes",  # the revise form's: a revision that changes nothing
    ]
    ids += [f"restrictions-{kind}" for kind in KINDS]
    cw = "restrictions-call_windows"
    ids += [f"{cw}-windows", f"{cw}-max_calls", f"{cw}-per", f"{cw}-max_minutes"]
    for row in range(WINDOW_ROWS):
        ids += [
            f"{cw}-windows-{row}",
            *(f"{cw}-windows-{row}-{p}" for p in ("days", "start", "end")),
        ]
    ids += ["restrictions-spoc-name", "restrictions-spoc-phone"]
    ids += ["restrictions-written_only-email", "restrictions-written_only-postal_address"]
    ids += ["restrictions-advocate_only-advocate_phones"]
    ids += ["interim"]
    return ids


STRATEGY_IDS = tuple(strategy_ids())
STRATEGY_LABELS = {
    "restrictions-call_windows": "Call windows",
    "restrictions-written_only": "Written contact only",
    "restrictions-spoc": "Single point of contact",
    "restrictions-advocate_only": "Advocate",
    "adjustment_override": "Adjustment override",
}


def _window_rows(form: FormLike, days_of: Mapping[int, Sequence[str]]) -> list[Values]:
    rows = []
    cw = "restrictions-call_windows-windows"
    for row in range(WINDOW_ROWS):
        days = list(days_of.get(row, ()))
        start = clock_time(form.get(f"{cw}-{row}-start", ""))
        end = clock_time(form.get(f"{cw}-{row}-end", ""))
        if row > 0 and not (days or start or end):
            continue  # an extra row left blank
        rows.append({"days": days, "start": start, "end": end})
    return rows


def _int_or_text(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def restrictions_from(
    form: FormLike, kinds: Sequence[str], days_of: Mapping[int, Sequence[str]]
) -> list[Values]:
    """The restrictions, in ``KINDS`` order, of the kinds ticked."""
    chosen = [k for k in KINDS if k in kinds]
    out: list[Values] = []
    for kind in chosen:
        prefix = f"restrictions-{kind}"
        if kind == "call_windows":
            restriction: Values = {
                "kind": kind,
                "windows": _window_rows(form, days_of),
                "max_calls": _int_or_text(form.get(f"{prefix}-max_calls", "")),
                "per": form.get(f"{prefix}-per", ""),
            }
            max_minutes = _int_or_text(form.get(f"{prefix}-max_minutes", ""))
            if max_minutes is not None:
                restriction["max_minutes"] = max_minutes
        elif kind == "spoc":
            restriction = {
                "kind": kind,
                "name": form.get(f"{prefix}-name", ""),
                "phone": form.get(f"{prefix}-phone", ""),
            }
        elif kind == "written_only":
            restriction = {
                "kind": kind,
                "email": _optional(form, f"{prefix}-email"),
                "postal_address": _optional(form, f"{prefix}-postal_address"),
            }
        elif kind == "advocate_only":
            restriction = {
                "kind": kind,
                "advocate_phones": _lines(form.get(f"{prefix}-advocate_phones", "")),
            }
        else:
            restriction = {"kind": kind}
        out.append(restriction)
    return out


def override_from(form: FormLike) -> Values | None:
    justification = form.get("adjustment_override-justification", "").strip()
    advice = form.get("adjustment_override-equality_advice_from", "").strip()
    if not justification and not advice:
        return None
    return {"justification": justification, "equality_advice_from": advice}


def strategy_body(
    form: FormLike, kinds: Sequence[str], days_of: Mapping[int, Sequence[str]]
) -> tuple[Values, list[str]]:
    """A StrategyIn-shaped body from the form, and the kind at each restriction index."""
    restrictions = restrictions_from(form, kinds, days_of)
    body: Values = {
        "person_id": form.get("person_id", ""),
        "matter_ref": form.get("matter_ref", ""),
        "reason": form.get("reason", ""),
        "restrictions": restrictions,
        "notified_on": date_from_parts(form, "notified_on"),
        "review_due": date_from_parts(form, "review_due"),
        "adjustment_override": override_from(form),
        "interim": form.get("interim") == "yes",  # §3.6: chief executive only
    }
    if body["review_due"] is None:
        body.pop("review_due")  # so the model says it is required
    return body, [r["kind"] for r in restrictions]


def strategy_errors(
    problems: Iterable[tuple[str, str]],
    kinds: Sequence[str],
    strip_prefix: str = "",
    form: str = "",
) -> FormErrors:
    return place(
        problems,
        STRATEGY_IDS,
        kinds=kinds,
        strip_prefix=strip_prefix,
        labels=STRATEGY_LABELS,
        form=form,
    )


# The revise form's fields that describe the revision, not the strategy: kept when the
# form is shown again over a newer version (``strategies.strategy_revise``).
REVISION_OWN_FIELDS = frozenset(
    {"why", "review_notes", "interim", *(f"notified_on-{p}" for p in ("day", "month", "year"))}
)


def strategy_values(strategy: Strategy) -> tuple[Values, list[str], dict[int, list[str]]]:
    """A stored strategy as form values (to pre-fill the revise form)."""
    values: Values = {
        "person_id": strategy.person_id,
        "matter_ref": strategy.matter_ref,
        "reason": strategy.reason,
        **date_parts("review_due", strategy.review_due),
    }
    days_of: dict[int, list[str]] = {}
    kinds: list[str] = []
    for restriction in strategy.restrictions:
        kinds.append(restriction.kind)
        data = restriction.model_dump(mode="json")
        prefix = f"restrictions-{restriction.kind}"
        if restriction.kind == "call_windows":
            for row, window in enumerate(data["windows"][:WINDOW_ROWS]):
                days_of[row] = list(window["days"])
                values[f"{prefix}-windows-{row}-start"] = window["start"]
                values[f"{prefix}-windows-{row}-end"] = window["end"]
            values[f"{prefix}-max_calls"] = str(data["max_calls"])
            values[f"{prefix}-per"] = data["per"]
            values[f"{prefix}-max_minutes"] = str(data.get("max_minutes") or "")
        elif restriction.kind == "advocate_only":
            values[f"{prefix}-advocate_phones"] = "\n".join(data["advocate_phones"])
        else:
            for name, value in data.items():
                if name != "kind" and value is not None:
                    values[f"{prefix}-{name}"] = value
    if strategy.adjustment_override:
        values["adjustment_override-justification"] = strategy.adjustment_override.justification
        values["adjustment_override-equality_advice_from"] = (
            strategy.adjustment_override.equality_advice_from
        )
    return values, kinds, days_of


def days_from(form: Any) -> dict[int, list[str]]:
    """The ticked days of each window row (a multi-valued form field per row)."""
    out: dict[int, list[str]] = {}
    for row in range(WINDOW_ROWS):
        out[row] = [
            d for d in form.getall(f"restrictions-call_windows-windows-{row}-days", []) if d in DAYS
        ]
    return out


def changes_between(current: Strategy, body: Values) -> Values:
    """The fields of a full form body that differ from the stored strategy (a revision
    names only what changes)."""
    stored = current.model_dump(mode="json")
    changes: Values = {}
    for name in ("matter_ref", "reason", "review_due", "adjustment_override"):
        if body.get(name) != stored.get(name):
            changes[name] = body.get(name)
    if _normal_restrictions(body["restrictions"]) != _normal_restrictions(stored["restrictions"]):
        changes["restrictions"] = body["restrictions"]
    return changes


def _normal_restrictions(restrictions: Sequence[Values]) -> list[Values]:
    return [{k: v for k, v in r.items() if v not in (None, "", [])} for r in restrictions]
