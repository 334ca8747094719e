"""The policy as data: load and validate ``policies/*.toml`` into typed objects.

The file format is documented in ``docs/policy-format.md``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from callguard.domain.caller_match import REFUSAL_PRECEDENCE
from callguard.domain.models import RESTRICTION_KINDS, AdjustmentKind
from callguard.domain.roles import Role

# Every rule that refuses a call needs the words a caller hears for it.
REFUSAL_RULES: tuple[str, ...] = REFUSAL_PRECEDENCE
ADJUSTMENT_KINDS = tuple(kind.value for kind in AdjustmentKind)
REQUIRED_REASONS = (
    "verbal_abuse",
    "discriminatory_remarks",
    "harassment",
    "threats",
    "stalking",
    "manipulation",
    "coercive_behaviour",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Office(_Strict):
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    voice: str = "Polly.Amy"
    language: str = "en-GB"
    written_contact: str = Field(min_length=1)


class Reviews(_Strict):
    max_interval_months: int = Field(ge=1, le=12)
    reminder_days_before: list[int] = Field(default_factory=lambda: [14, 3])
    overdue: Literal["flag", "lapse"] = "flag"


class Emergency(_Strict):
    advice: str = Field(min_length=1)  # said on the phone
    # Written in letters, where the spoken advice's "hang up" makes no sense; the spoken
    # advice when not given.
    in_writing: str | None = Field(default=None, min_length=1)

    @property
    def written(self) -> str:
        return self.in_writing or self.advice


class Messages(_Strict):
    offer: str = Field(min_length=1)
    max_seconds: int = Field(ge=10, le=3600)
    extra_time_factor: int = Field(default=2, ge=1, le=5)
    triage_within_hours: int = Field(ge=1)
    unanswered: str = Field(min_length=1)
    unanswered_spoc: str = Field(min_length=1)


class NewMatter(_Strict):
    digit: str = Field(pattern=r"^[0-9*#]$")
    prompt: str = Field(min_length=1)
    action: Literal["message", "connect"] = "message"
    confirmation: str = Field(min_length=1)


class Recording(_Strict):
    notice: str = Field(min_length=1)


class Connect(_Strict):
    greeting: str = Field(min_length=1)


class FileNotes(_Strict):
    deadline: str = "end_of_next_working_day"
    working_day_ends: time = time(17, 0)

    @field_validator("deadline")
    @classmethod
    def _deadline_form(cls, value: str) -> str:
        if value != "end_of_next_working_day" and not re.fullmatch(r"hours:[1-9][0-9]*", value):
            raise ValueError("must be 'end_of_next_working_day' or 'hours:N'")
        return value


class Welfare(_Strict):
    alert_threshold_per_week: int = Field(ge=1)


class RepeatCallers(_Strict):
    calls_per_day: int = Field(ge=1)


class Retention(_Strict):
    call_records_days: int = Field(ge=1)
    messages_days: int = Field(ge=1)
    file_notes_days: int = Field(ge=1)
    audit_days: int = Field(ge=1)
    # In-app notifications (reminders, line-manager notices, welfare alerts) name matters and
    # staff: kept a year unless the policy says otherwise.
    notifications_days: int = Field(default=365, ge=1)
    # A subject access request's record (who asked, when, when answered) is the evidence the
    # request was met: kept six years after it was completed unless the policy says
    # otherwise. A request not yet completed is never disposed of.
    subject_access_days: int = Field(default=2190, ge=1)


class Reason(_Strict):
    label: str = Field(min_length=1)
    policy_ref: str = ""
    warning: str = Field(min_length=1)
    closing: str = Field(min_length=1)
    end_immediately: bool = False


_UNTOLD_NO_RESPONSE = (
    "{office} will not respond further on your matter. Any message you leave will still be "
    "read and placed on file, and any new matter will be dealt with."
)


class NoticeRules(_Strict):
    """§3.6: a strategy applies once the person is told in writing, bar interim measures."""

    # Restriction kinds the chief executive may apply at once, before the letter is sent.
    interim_kinds: list[str] = Field(default_factory=lambda: ["phone_blocked", "no_response"])
    # Remind the strategy's owner of a strategy awaiting notice longer than this.
    remind_after_working_days: int = Field(default=5, ge=1, le=60)
    letter_follows: str = Field(default="A letter explaining this will follow.", min_length=1)
    # What a refused caller hears first when they have not been told in writing of the
    # version applied (by rule; a rule not named here uses [refusals]).
    untold_refusals: dict[str, str] = Field(
        default_factory=lambda: {"no_response": _UNTOLD_NO_RESPONSE}
    )
    untold_recording: str = Field(default="This call will be recorded.", min_length=1)

    @field_validator("interim_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in RESTRICTION_KINDS]
        if unknown:
            raise ValueError(f"unknown restriction kind {', '.join(unknown)}")
        return kinds

    @field_validator("untold_refusals")
    @classmethod
    def _known_rules(cls, texts: dict[str, str]) -> dict[str, str]:
        unknown = [r for r in texts if r not in REFUSAL_RULES]
        if unknown:
            raise ValueError(f"unknown refusal rule {', '.join(unknown)}")
        return texts


class AdjustmentRules(_Strict):
    """§2, §8.4: restriction kinds that conflict with a reasonable adjustment, each needing
    a justified adjustment_override."""

    conflicts: dict[str, list[str]] = Field(
        default_factory=lambda: {"needs_phone_contact": ["written_only"]}
    )

    @field_validator("conflicts")
    @classmethod
    def _known(cls, conflicts: dict[str, list[str]]) -> dict[str, list[str]]:
        problems = [f"unknown adjustment kind {a}" for a in conflicts if a not in ADJUSTMENT_KINDS]
        problems += [
            f"{a}: unknown restriction kind {k}"
            for a, kinds in conflicts.items()
            for k in kinds
            if k not in RESTRICTION_KINDS
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return conflicts


class Letters(_Strict):
    """The letter templates (in ``folder``, beside the policy file) and what they print."""

    folder: str = "letters"
    stylesheet: str = "letter.css"
    strategy: str = "strategy.html"
    revision: str = "revision.html"
    no_response: str = "no_response.html"
    appeal_outcome: str = "appeal_outcome.html"
    easy_read: str = "easy_read.html"
    signatory_titles: dict[str, str] = Field(
        default_factory=lambda: {"manager": "Manager", "chief_executive": "Chief Executive"}
    )
    appeals_to: str = "the Chief Executive of the office"
    office_address: str = ""
    office_email: str = ""
    office_phone: str = ""

    @field_validator(
        "folder", "stylesheet", "strategy", "revision", "no_response", "appeal_outcome", "easy_read"
    )
    @classmethod
    def _plain_name(cls, value: str) -> str:
        # A name beside the policy file, never a path out of its folder.
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value) or value.startswith("."):
            raise ValueError("must be a file or folder name (letters, digits, _ . -)")
        return value


class Appeals(_Strict):
    decide_within_working_days: int = Field(default=20, ge=1, le=120)
    reminder_days_before: list[int] = Field(default_factory=lambda: [5, 1, 0])


class Policy(_Strict):
    office: Office
    reviews: Reviews
    restriction_roles: dict[str, Role]
    emergency: Emergency
    refusals: dict[str, str]
    messages: Messages
    new_matter: NewMatter
    recording: Recording
    connect: Connect
    file_notes: FileNotes = FileNotes()
    welfare: Welfare
    repeat_callers: RepeatCallers
    retention: Retention
    reasons: dict[str, Reason]
    notice: NoticeRules = NoticeRules()
    adjustments: AdjustmentRules = AdjustmentRules()
    letters: Letters = Letters()
    appeals: Appeals = Appeals()

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing_kinds = [k for k in RESTRICTION_KINDS if k not in self.restriction_roles]
        unknown_kinds = [k for k in self.restriction_roles if k not in RESTRICTION_KINDS]
        missing_refusals = [r for r in REFUSAL_RULES if r not in self.refusals]
        missing_reasons = [r for r in REQUIRED_REASONS if r not in self.reasons]
        problems = []
        if missing_kinds:
            problems.append(f"restriction_roles: missing {', '.join(missing_kinds)}")
        if unknown_kinds:
            problems.append(f"restriction_roles: unknown kind {', '.join(unknown_kinds)}")
        if missing_refusals:
            problems.append(f"refusals: missing {', '.join(missing_refusals)}")
        if missing_reasons:
            problems.append(f"reasons: missing {', '.join(missing_reasons)}")
        bad_codes = [code for code in self.reasons if not re.fullmatch(r"[a-z][a-z0-9_]*", code)]
        if bad_codes:
            problems.append(f"reasons: codes must be lower_snake_case: {', '.join(bad_codes)}")
        if self.restriction_roles.get("no_response") not in (None, Role.chief_executive):
            # §8.3–8.6: only the Chief Executive may stop responses altogether.
            problems.append("restriction_roles.no_response: must be chief_executive (§8.3)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def refusal_text(self, rule: str, *, told_in_writing: bool = True) -> str:
        text = self.refusals[rule]
        if not told_in_writing:
            text = self.notice.untold_refusals.get(rule, text)
        return text.replace("{office}", self.office.short_name)

    def role_to_create(self, kind: str) -> Role:
        return self.restriction_roles[kind]


class PolicyError(Exception):
    """The policy file is missing or invalid; ``lines`` holds one clear line per problem."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(lines))
        self.path = path
        self.lines = lines


def load_policy(path: Path) -> Policy:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(path, ["file not found"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, [f"not valid TOML: {exc}"]) from exc
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            where = ".".join(str(p) for p in item["loc"]) or "(top level)"
            lines.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        raise PolicyError(path, lines) from exc
    folder = letters_folder(path, policy)
    missing = [
        f"letters.{key}: no file {name} in {folder}"
        for key, name in policy.letters.model_dump(include=set(LETTER_FILES)).items()
        if not (folder / name).is_file()
    ]
    if missing:
        raise PolicyError(path, missing)
    return policy


# The letters' templates when the policy file's folder has none (an older policy file).
BUILT_IN_LETTERS = Path(__file__).resolve().parent / "policies" / "letters"
LETTER_FILES = (
    "stylesheet",
    "strategy",
    "revision",
    "no_response",
    "appeal_outcome",
    "easy_read",
)


def letters_folder(policy_path: Path, policy: Policy) -> Path:
    """Where the policy's letter templates are: ``[letters] folder`` beside the policy file,
    else CallGuard's own."""
    folder = policy_path.parent / policy.letters.folder
    return folder if folder.is_dir() else BUILT_IN_LETTERS
