"""``callguard import``: load an existing register from CSV — all or nothing.

One row per contact strategy (a person with no strategy: leave ``matter_ref`` empty).
Rows whose first phone is the same describe the same person. Columns:

  name, phones (``;``-separated), emails (``;``), adjustments (``kind:detail;…``),
  matter_ref, reason, restrictions (JSON list, as in the API), notified_on, review_due

Every row is validated exactly as the API validates it (the same models and rules, the
importing role's rights included). With ``--dry-run``, or when any row is rejected,
nothing is stored and every rejected row is reported with its reasons. Otherwise every
person and strategy is written in one Redis transaction: an import never stops half-way.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from callguard.domain import error_words
from callguard.domain.audit import AuditEntry
from callguard.domain.models import Person, PersonIn, Strategy, StrategyIn
from callguard.domain.rules import (
    kinds_role_cannot_create,
    notified_on_problems,
    restriction_problems,
    review_due_problems,
    status_at_creation,
)
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.services.register import new_id
from callguard.store.register import RegisterStore

COLUMNS = (
    "name",
    "phones",
    "emails",
    "adjustments",
    "matter_ref",
    "reason",
    "restrictions",
    "notified_on",
    "review_due",
)
PLACEHOLDER_PERSON = "per_import"


@dataclass
class Rejection:
    row: int  # 1-based data row number (the header is row 0)
    reasons: list[str]


@dataclass
class ImportPlan:
    people: list[Person] = field(default_factory=list)
    strategies: list[Strategy] = field(default_factory=list)
    audits: list[AuditEntry] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    rows: int = 0


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _adjustments(text: str) -> list[dict[str, str]]:
    out = []
    for part in _split(text):
        kind, _, detail = part.partition(":")
        out.append({"kind": kind.strip(), "detail": detail.strip()})
    return out


def _errors(error: ValidationError, prefix: str = "") -> list[str]:
    from callguard.web.api import field_path

    return [
        f"{prefix}{field_path(error_words.where(e))}: {error_words.reason_for(e)}"
        for e in error.errors(include_url=False)
    ]


class Importer:
    def __init__(self, policy: Policy, actor: Actor, now: datetime, today: date) -> None:
        self.policy = policy
        self.actor = actor
        self.now = now
        self.today = today
        self.plan = ImportPlan()
        self._people_by_phone: dict[str, Person] = {}
        self._planned: set[str] = set()

    def add_row(self, number: int, row: dict[str, str]) -> None:
        self.plan.rows += 1
        reasons: list[str] = []
        missing = [c for c in ("name", "phones") if not (row.get(c) or "").strip()]
        if missing:
            self.plan.rejected.append(Rejection(number, [f"{c}: required" for c in missing]))
            return
        try:
            person_in = PersonIn.model_validate(
                {
                    "name": row["name"],
                    "phones": _split(row["phones"]),
                    "emails": _split(row.get("emails") or ""),
                    "reasonable_adjustments": _adjustments(row.get("adjustments") or ""),
                }
            )
        except ValidationError as error:
            self.plan.rejected.append(Rejection(number, _errors(error)))
            return
        person = self._person_for(person_in, reasons)
        has_strategy = bool((row.get("matter_ref") or "").strip())
        strategy = self._strategy_for(row, person, reasons) if has_strategy else None
        if reasons:
            self.plan.rejected.append(Rejection(number, reasons))
            return
        if person.id not in self._planned:
            self._planned.add(person.id)
            self.plan.people.append(person)
            self.plan.audits.append(self._audit("person.import", person.id, person.id))
        if strategy is not None:
            self.plan.strategies.append(strategy)
            self.plan.audits.append(self._audit("strategy.import", strategy.id, person.id))

    def _person_for(self, person_in: PersonIn, reasons: list[str]) -> Person:
        known = self._people_by_phone.get(person_in.phones[0])
        if known is not None:
            if known.name != person_in.name or set(known.phones) != set(person_in.phones):
                reasons.append(
                    "phones: the first phone belongs to an earlier row's person with other details"
                )
            return known
        clashes = [p for p in person_in.phones if p in self._people_by_phone]
        if clashes:
            reasons.append(
                f"phones: {', '.join(clashes)} already given to another person in this file"
            )
        person = Person(
            **person_in.model_dump(),
            id=new_id("per"),
            created_at=self.now,
            created_by=self.actor.name,
            updated_at=self.now,
        )
        if not reasons:
            for phone in person.phones:
                self._people_by_phone[phone] = person
        return person

    def _strategy_for(
        self, row: dict[str, str], person: Person, reasons: list[str]
    ) -> Strategy | None:
        try:
            restrictions = json.loads(row.get("restrictions") or "[]")
        except json.JSONDecodeError as error:
            reasons.append(f"restrictions: not valid JSON ({error})")
            return None
        try:
            body = StrategyIn.model_validate(
                {
                    "person_id": person.id,
                    "matter_ref": row.get("matter_ref", ""),
                    "reason": row.get("reason", ""),
                    "restrictions": restrictions,
                    "notified_on": (row.get("notified_on") or "").strip() or None,
                    "review_due": (row.get("review_due") or "").strip(),
                }
            )
        except ValidationError as error:
            reasons.extend(_errors(error))
            return None
        refused = kinds_role_cannot_create(body.restrictions, self.actor.role, self.policy)
        if refused:
            reasons.append(
                f"restrictions: the {self.actor.role.value} role may not create "
                f"{', '.join(refused)}"
            )
        problems = [
            *review_due_problems(body.review_due, self.today, self.today, self.policy),
            *restriction_problems(body.restrictions, person, body.adjustment_override, self.policy),
            *notified_on_problems(body.notified_on, self.today),
        ]
        reasons.extend(f"{f}: {r}" for f, r in problems)
        # §3.6: a row without notified_on awaits notice (an import is never interim).
        status, applied, _ = status_at_creation(body.notified_on, interim=False)
        return Strategy(
            **body.model_dump(exclude={"restrictions"}),
            restrictions=body.restrictions,
            id=new_id("str"),
            starts_on=self.today,
            status=status,
            applied_version=applied,
            version=1,
            created_at=self.now,
            created_by=self.actor.name,
            updated_at=self.now,
        )

    def _audit(self, action: str, target: str, person_id: str) -> AuditEntry:
        return AuditEntry(
            at=self.now,
            who=self.actor.name,
            role=self.actor.role.value,
            action=action,
            target=target,
            person_id=person_id,
            detail="import",
        )


def read_rows(stream: TextIO) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(stream)
    unknown = [c for c in (reader.fieldnames or []) if c not in COLUMNS]
    if reader.fieldnames is None or "name" not in reader.fieldnames or unknown:
        raise ValueError(
            f"the header must name the columns {', '.join(COLUMNS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    for number, row in enumerate(reader, start=1):
        yield number, {k: (v or "") for k, v in row.items() if k is not None}


class Progress:
    """A one-line progress bar on stderr, for large files."""

    def __init__(self, total: int, label: str, out: TextIO = sys.stderr) -> None:
        self.total, self.label, self.out, self.shown = max(total, 1), label, out, -1

    def update(self, done: int) -> None:
        percent = done * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 4)
            self.out.write(f"\r{self.label} [{bar:<25}] {percent:3d}% ({done}/{self.total})")
            if done >= self.total:
                self.out.write("\n")
            self.out.flush()


def plan_import(
    path: Path,
    policy: Policy,
    actor: Actor,
    now: datetime,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        total = max(sum(1 for _ in stream) - 1, 0)
    importer = Importer(policy, actor, now, today)
    with path.open(newline="", encoding="utf-8-sig") as stream:
        for number, row in read_rows(stream):
            importer.add_row(number, row)
            if progress:
                progress(number, total)
    return importer.plan


async def apply_plan(store: RegisterStore, plan: ImportPlan) -> list[str]:
    """Write the plan in one transaction; the phones already held elsewhere, if any."""
    return await store.import_batch(plan.people, plan.strategies, plan.audits)


def report(plan: ImportPlan) -> list[str]:
    lines = [
        f"rows: {plan.rows}; people: {len(plan.people)}; strategies: "
        f"{len(plan.strategies)}; rejected rows: {len(plan.rejected)}"
    ]
    for rejection in plan.rejected:
        for reason in rejection.reasons:
            lines.append(f"row {rejection.row}: {reason}")
    return lines


__all__: list[Any] = ["apply_plan", "plan_import", "report"]


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a ``Progress`` bar, made at the first
    call (when the total is known)."""
    bar: Progress | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or Progress(total, label)
        bar.update(done)

    return progress
