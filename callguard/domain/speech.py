"""What a caller hears, as sentences, from a Decision and the policy's wording. Pure.

A refused call is never silently dropped (§3.10, §8.7, CONTRACT §3): the caller hears why,
when they may next call (for windows), how else to make contact, and the emergency advice.
The offer to leave a message and the new-matter prompt are added by the TwiML layer.
"""

from __future__ import annotations

from callguard.domain.caller_match import WINDOW_REFUSALS, Decision
from callguard.policy import Policy


def caller_hears(decision: Decision, policy: Policy) -> list[str]:
    """The sentences a refused caller hears, in order; nothing for a call that connects."""
    if decision.outcome != "refuse":
        return []
    return [
        policy.refusal_text(decision.rule, told_in_writing=decision.told_in_writing),
        # §3.6: an interim measure applies before the letter; the caller is told it follows.
        *([policy.notice.letter_follows] if decision.letter_follows else []),
        *_what_next(decision, policy),
        policy.emergency.advice,
    ]


def _what_next(decision: Decision, policy: Policy) -> list[str]:
    write_to_office = f"You can contact us {policy.office.written_contact}."
    if decision.rule in WINDOW_REFUSALS:
        if decision.next_permitted_spoken:
            return [f"You may next call on {decision.next_permitted_spoken}."]
        return [
            "There is no time in the coming year when a call can be taken under your "
            "contact arrangement, so please write to us instead.",
            write_to_office,
        ]
    if decision.rule == "written_only":
        written = []
        if decision.written_email:
            written.append(f"You can email {decision.written_email}.")
        if decision.written_postal_address:
            written.append(f"You can write to {decision.written_postal_address}.")
        # A written_only restriction always holds one of the two; the office is a safe
        # fallback should a decision arrive without them.
        return written or [write_to_office]
    return [write_to_office]


def connect_notice(decision: Decision, policy: Policy) -> list[str]:
    """What a caller hears before the call is put through: the greeting, then (when the
    call is recorded) the recording notice, so they are told before recording starts."""
    if decision.outcome == "refuse":
        return []
    notice = [policy.connect.greeting]
    if decision.recorded:
        notice.append(
            policy.recording.notice
            if decision.told_in_writing
            else policy.notice.untold_recording.replace("{office}", policy.office.short_name)
        )
    if decision.letter_follows:
        notice.append(policy.notice.letter_follows)
    return notice
