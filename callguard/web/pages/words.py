"""The one table of words for the codes the pages would otherwise show: decision rules,
outcomes, review outcomes, the names of strategy fields and the oversight report's counts.
A code with no entry is shown with its underscores and dots as spaces, never as it is
stored."""

from __future__ import annotations

from callguard import wording
from callguard.domain.records import TERMINAL_STATUSES, CallRecord

RULE_LABELS = {
    "none": "No restriction applied",
    "call_windows.outside": "Outside the agreed call times",
    "call_windows.quota": "Over the number of calls allowed",
    "written_only": "Written contact only",
    "advocate_only": "Contact only through an advocate",
    "advocate_only.advocate": "Call from the person's advocate",
    "phone_blocked": "Telephone calls blocked",
    "no_response": "No response",
    "spoc": "Put through to the single point of contact",
}
OUTCOME_LABELS = {
    "connect": "Connected",
    "divert_spoc": "Put through to the single point of contact",
    "refuse": "Refused",
}
REVIEW_OUTCOMES = {
    "continue": "continue as it is",
    "revise": "revise",
    "end": "end the strategy",
}
FIELD_LABELS = {
    "matter_ref": "matter reference",
    "reason": "reason",
    "restrictions": "restrictions",
    "review_due": "review date",
    "adjustment_override": "adjustment override",
    "status": "status",
}
CALL_STATUSES = {
    "queued": "waiting",
    "ringing": "ringing",
    "in-progress": "in progress",
    "completed": "finished",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "not answered",
    "canceled": "cancelled",
}
# The call log's CSV download, its headings in words (the API's CSV keeps the field names).
CSV_HEADINGS = {
    "call_sid": "Call reference",
    "received_at": "Received at",
    "from": "From",
    "to": "To",
    "person_id": "Person reference",
    "person_name": "Person",
    "strategy_ids": "Strategy references",
    "outcome": "Outcome",
    "rule": "Why",
    "route_to": "Put through to",
    "recorded": "Recorded",
    "next_permitted_at": "May next call from",
    "degraded": "Failed open",
    "status": "Status",
    "warnings": "Warnings given",
    "ended_reason": "Ended by staff because",
    "file_note_id": "File note reference",
    "message": "Message left",
    "refused_by": "Strategies that refused it",
}
# The oversight report's counts of contact strategies (services.reports.StrategyCounts).
STRATEGY_COUNT_LABELS = {
    "in_force": "In force",
    "active_at_end": "Active at end",
    "new": "New",
    "ended": "Ended",
    "lapsed": "Lapsed",
    "awaiting_notice": "Not yet in force: the person has not been told in writing",
}
TRIAGE_LABELS = {
    "new_complaint": "A new complaint",
    "criminal_matter": "A criminal matter (pass to the police)",
    "safeguarding": "A safeguarding concern",
    "no_action": "No action needed",
}


def _plain(code: str) -> str:
    return wording.sentence(code.replace(".", " ").replace("_", " ").strip())


def rule_in_words(code: str | None) -> str:
    if not code:
        return "—"
    return RULE_LABELS.get(code) or _plain(code)


def outcome_in_words(code: str | None) -> str:
    if not code:
        return "—"
    return OUTCOME_LABELS.get(code) or _plain(code)


def call_status_in_words(code: str | None) -> str:
    if not code:
        return "—"
    return CALL_STATUSES.get(code) or code.replace("-", " ").replace("_", " ")


def fields_in_words(names: list[str]) -> str:
    return ", ".join(FIELD_LABELS.get(n, n.replace("_", " ")) for n in names)


def call_state_in_words(record: CallRecord) -> str:
    """Where a call stands, as the call log shows it: a refused call is "Refused" whatever
    Twilio last reported of the line, a call ended by staff says so."""
    if record.ended is not None:
        return "Ended by staff"
    finished = record.status in TERMINAL_STATUSES
    if record.outcome == "refuse":
        left = ", a message was left" if record.message else ""
        return ("Refused" if finished else "Refused, the caller is hearing why") + left
    if record.status == "ringing":
        return "Connecting"
    return call_status_in_words(record.status).capitalize()
