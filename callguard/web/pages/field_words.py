"""What each form field is called in an error message, the GOV.UK way: what to say when it
is empty, when it is not right, and its name inside a sentence. ``messages`` puts these into
sentences. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    "summary": Field(
        "Enter what was said or done", "Enter what was said or done", "what was said or done"
    ),
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
    # notice (§3.6)
    "method": Field(
        "Choose how the person was told", "Choose how the person was told", "how they were told"
    ),
    # subject access requests
    "received_on": Field(
        f"Enter the date the request was received, {LIKE_DATE}",
        f"The date the request was received must be a real date, {LIKE_DATE}",
        "the date the request was received",
    ),
    "completed_on": Field(
        f"Enter the date the response was sent, {LIKE_DATE}",
        f"The date the response was sent must be a real date, {LIKE_DATE}",
        "the date the response was sent",
    ),
}

# Fields whose meaning depends on the form: the user admin's "name" is a user name.
FORM_FIELDS: dict[str, dict[str, Field]] = {
    "user": {
        "name": Field(
            "Enter a user name",
            "Enter a user name using only letters, numbers, full stops, hyphens or underscores",
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
    "calls": {
        "outcome": Field(
            "Choose an outcome from the list", "Choose an outcome from the list", "the outcome"
        ),
        "person_id": Field(
            "Choose a person from the list", "Choose a person from the list", "the person"
        ),
    },
    "revise": {
        "why": Field(
            "Enter why the strategy is being revised",
            "Enter why the strategy is being revised",
            "the reason",
        )
    },
    "appeal": {
        "received_on": Field(
            "Enter the date the appeal was received",
            f"Enter a real date, {LIKE_DATE}",
            "the date the appeal was received",
        ),
        "grounds": Field(
            "Enter why the person disagrees",
            "Enter why the person disagrees",
            "why the person disagrees",
        ),
        "decider": Field("Choose who will decide", "Choose who will decide", "the decider"),
        "outcome": Field("Choose the outcome", "Choose the outcome", "the outcome"),
        "reasons": Field("Enter the reasons", "Enter the reasons", "the reasons"),
    },
}
