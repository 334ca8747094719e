"""A person's timeline: strategies, revisions, reviews, calls, warnings, ends, messages and
file notes, newest first. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from callguard.domain.models import Strategy
from callguard.domain.notes import FileNote
from callguard.domain.records import CallRecord
from callguard.web.pages.words import REVIEW_OUTCOMES, fields_in_words, rule_in_words

OUTCOME_WORDS = {
    "connect": "connected",
    "divert_spoc": "put through to the SPOC",
    "refuse": "refused",
}


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    href: str
    by: str = ""
    detail: str = ""


def _words(code: str) -> str:
    return code.replace("_", " ")


def _strategy_events(strategy: Strategy) -> Iterable[Event]:
    href = f"/strategies/{strategy.id}"
    ref = strategy.matter_ref
    yield Event(strategy.created_at, f"Strategy {ref} created", href, strategy.created_by,
                strategy.reason)  # fmt: skip
    for r in strategy.revisions:
        changed = fields_in_words(r.changed)
        yield Event(r.at, f"Strategy {ref} version {r.version}: {changed}", href, r.by, r.why)
    for review in strategy.reviews:
        yield Event(
            review.at,
            f"Strategy {ref} reviewed: {REVIEW_OUTCOMES.get(review.outcome, review.outcome)}",
            href,
            review.by,
            review.notes,
        )


def _call_events(call: CallRecord) -> Iterable[Event]:
    href = f"/calls/{call.call_sid}"
    outcome = OUTCOME_WORDS.get(call.outcome, call.outcome)
    yield Event(call.received_at, f"Call {outcome} ({rule_in_words(call.rule).lower()})", href)
    for w in call.warnings:
        yield Event(w.at, f"Warning given: {_words(w.reason)}", href, w.by)
    if call.ended:
        yield Event(call.ended.at, f"Call ended by staff: {_words(call.ended.reason)}", href,
                    call.ended.by)  # fmt: skip
    if call.message:
        detail = "new matter" if call.message.new_matter else ""
        yield Event(call.message.recorded_at, "Message left", href, detail=detail)


def person_timeline(
    strategies: Iterable[Strategy], calls: Iterable[CallRecord], notes: Iterable[FileNote]
) -> list[Event]:
    events = [e for s in strategies for e in _strategy_events(s)]
    events += [e for c in calls for e in _call_events(c)]
    events += [
        Event(n.completed_at, "File note completed", f"/notes/{n.id}", n.completed_by or "")
        for n in notes
        if n.completed_at
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)
