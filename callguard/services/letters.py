"""Letters to a person, as HTML (the browser's preview) and PDF (WeasyPrint), from the
templates the policy file names (``[letters]``): the strategy letter (version 1), a revision
letter (a later version), the chief executive's no-response letter (a version with a
``no_response`` restriction, §8.4, §8.6) and an appeal's outcome letter.

The same HTML is previewed and printed, with the same stylesheet and the pages' date
filters (``wording.date_filters``). A person with ``large_print`` gets body text at 16pt or
more (the stylesheet's ``letter--large``), with ``easy_read`` the simpler template. Every
letter made is audited (it holds personal data). WeasyPrint is CPU-bound, so PDFs are drawn
in a worker thread: the event loop keeps answering calls meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import escape

from callguard import wording
from callguard.domain.appeals import AppealStatus
from callguard.domain.audit import AuditEntry
from callguard.domain.fields import DAYS
from callguard.domain.models import AdjustmentKind, Person, Strategy
from callguard.domain.notice import restrictions_in_force, revision_awaiting_notice
from callguard.domain.users import Actor
from callguard.domain.versions import VersionMade, strategy_at, versions_made
from callguard.policy import Policy
from callguard.services.errors import Conflict, NotFound
from callguard.store.appeals import AppealStore
from callguard.store.register import RegisterStore
from callguard.store.users import UserStore

_DAY_NAMES = {
    "mon": "Mondays",
    "tue": "Tuesdays",
    "wed": "Wednesdays",
    "thu": "Thursdays",
    "fri": "Fridays",
    "sat": "Saturdays",
    "sun": "Sundays",
}


def _as_told(strategy: Strategy) -> Strategy:
    """The strategy as the person knows it: what applies to calls, and, while a revision
    awaits notice, the reason and review date of the version they were told of."""
    update: dict[str, object] = {"restrictions": restrictions_in_force(strategy)}
    if revision_awaiting_notice(strategy) is not None and strategy.applied_version is not None:
        told_of = strategy_at(strategy, strategy.applied_version)
        if told_of is not None:
            update |= {"reason": told_of.reason, "review_due": told_of.review_due}
    return strategy.model_copy(update=update)


def file_name(*parts: str) -> str:
    """A download's file name from free text (a matter reference): letters, digits, ``.``,
    ``_`` and ``-`` only, so it can neither split the header nor close its quotes."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)).strip("-") + ".pdf"


def days_in_words(days: list[str]) -> str:
    names = [_DAY_NAMES[d] for d in DAYS if d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class RenderedLetter:
    kind: str  # strategy, revision, no_response, appeal_outcome
    title: str
    filename: str
    html: str  # the letter itself (an <article>), as previewed and as printed
    large_print: bool
    easy_read: bool


class Letters:
    def __init__(
        self,
        register: RegisterStore,
        appeals: AppealStore,
        users: UserStore,
        policy: Policy,
        tz: ZoneInfo,
        folder: Path,
    ) -> None:
        self.register = register
        self.appeals = appeals
        self.users = users
        self.policy = policy
        self.tz = tz
        self.folder = folder
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(wording.date_filters(tz))
        self.env.filters["days"] = days_in_words

    def stylesheet(self) -> str:
        return (self.folder / self.policy.letters.stylesheet).read_text(encoding="utf-8")

    async def for_version(
        self, strategy_id: str, version: int, actor: Actor, now: datetime
    ) -> RenderedLetter:
        """The letter telling the person of ``version`` of the strategy."""
        strategy = await self.register.get_strategy(strategy_id)
        if strategy is None:
            raise NotFound(f"no strategy {strategy_id}")
        at_version = strategy_at(strategy, version)
        made = versions_made(strategy).get(version)
        if at_version is None or made is None:
            raise NotFound(f"strategy {strategy_id} has no version {version}")
        person = await self._person(strategy.person_id)
        if at_version.restriction("no_response") is not None and made.cause != "ended":
            kind = "no_response"
        else:
            kind = "strategy" if version == 1 else "revision"
        template = self._template_for(kind, person)
        html = self.env.get_template(template).render(
            **await self._frame(person, made.by, strategy.matter_ref, now),
            strategy=at_version,
            made=made,
            ended=made.cause == "ended",
            starts_on=self._starts_on(made, now, version in strategy.interim_versions),
        )
        await self._audit(
            actor, now, "strategy.letter", strategy.id, person.id, f"version {version}"
        )
        return RenderedLetter(
            kind=kind,
            title=_TITLES[kind] + f" (version {version})",
            filename=file_name("letter", strategy.matter_ref, f"v{version}"),
            html=html,
            large_print=person.has_adjustment(AdjustmentKind.large_print),
            easy_read=person.has_adjustment(AdjustmentKind.easy_read),
        )

    async def for_appeal(self, appeal_id: str, actor: Actor, now: datetime) -> RenderedLetter:
        """The letter telling the person the outcome of their appeal (once decided)."""
        appeal = await self.appeals.get(appeal_id)
        if appeal is None:
            raise NotFound(f"no appeal {appeal_id}")
        if appeal.status is not AppealStatus.decided or appeal.decided_at is None:
            raise Conflict("the appeal has not been decided yet: there is no outcome to tell")
        person = await self._person(appeal.person_id)
        strategy = await self.register.get_strategy(appeal.strategy_id)
        if strategy is not None:  # as it applies now: not a revision the person was not told of
            strategy = _as_told(strategy)
        html = self.env.get_template(self.policy.letters.appeal_outcome).render(
            **await self._frame(person, appeal.decider, appeal.matter_ref, now),
            appeal=appeal,
            strategy=strategy,
            decided_on=appeal.decided_at.astimezone(self.tz).date(),
        )
        await self._audit(actor, now, "appeal.letter", appeal.id, person.id, appeal.outcome or "")
        return RenderedLetter(
            kind="appeal_outcome",
            title=_TITLES["appeal_outcome"],
            filename=file_name("appeal-outcome", appeal.matter_ref),
            html=html,
            large_print=person.has_adjustment(AdjustmentKind.large_print),
            easy_read=person.has_adjustment(AdjustmentKind.easy_read),
        )

    async def pdf(self, letter: RenderedLetter) -> bytes:
        """The letter as PDF, drawn in a worker thread."""
        return await asyncio.to_thread(self._pdf, letter)

    def _pdf(self, letter: RenderedLetter) -> bytes:
        import weasyprint  # a heavy import, needed only here

        document = (
            '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
            f"<title>{escape(letter.title)}</title></head>"
            f"<body>{letter.html}</body></html>"
        )
        css = weasyprint.CSS(string=self.stylesheet())
        pdf: bytes = weasyprint.HTML(string=document, base_url=str(self.folder)).write_pdf(
            stylesheets=[css]
        )
        return pdf

    def _template_for(self, kind: str, person: Person) -> str:
        names = self.policy.letters
        if person.has_adjustment(AdjustmentKind.easy_read):
            return names.easy_read
        return {"strategy": names.strategy, "revision": names.revision}.get(kind, names.no_response)

    def _starts_on(self, made: VersionMade, now: datetime, interim: bool = False) -> date:
        """An interim measure: the day it was made (it applied at once, before notice).
        Else when the person was told, if recorded; else the letter's own date (notice
        comes before effect: it starts once they have it)."""
        if interim:
            return made.at.astimezone(self.tz).date()
        return made.notified_on or now.astimezone(self.tz).date()

    async def _person(self, person_id: str) -> Person:
        person = await self.register.get_person(person_id)
        if person is None:
            raise NotFound(f"no person {person_id}")
        return person

    async def _frame(
        self, person: Person, signer: str, matter_ref: str, now: datetime
    ) -> dict[str, Any]:
        user = await self.users.get_user(signer)
        titles = self.policy.letters.signatory_titles
        return {
            "office": self.policy.office,
            "letters": self.policy.letters,
            "appeals": self.policy.appeals,
            "emergency": self.policy.emergency.written,
            "person": person,
            "matter_ref": matter_ref,
            "today": now.astimezone(self.tz).date(),
            "signatory": {
                "name": user.full_name if user else signer,
                "title": titles.get(user.role.value, "") if user else "",
            },
            "large_print": person.has_adjustment(AdjustmentKind.large_print),
            "easy_read": person.has_adjustment(AdjustmentKind.easy_read),
        }

    async def _audit(
        self, actor: Actor, now: datetime, action: str, target: str, person_id: str, detail: str
    ) -> None:
        await self.register.audit(
            AuditEntry(
                at=now,
                who=actor.name,
                role=actor.role.value,
                action=action,
                target=target,
                person_id=person_id,
                detail=detail,
            )
        )


_TITLES = {
    "strategy": "Strategy letter",
    "revision": "Revision letter",
    "no_response": "The chief executive's no-response letter",
    "appeal_outcome": "Appeal outcome letter",
}
