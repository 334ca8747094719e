"""The audit of reads (UK GDPR accountability; CONTRACT §7): reading a person, a strategy,
a call record, the call log (and its CSV) or a file note adds who read what, and when, to
the audit of each person the read showed, shown in their subject access export.

One read, one round trip: the entries of a read that showed many people (a page of the
call log) are written in one transaction. A read that showed nobody on the register (calls
from unknown numbers) leaves one entry in the office's audit stream, about no one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from callguard.domain.audit import AuditEntry
from callguard.domain.users import Actor
from callguard.store.subject_access import SubjectAccessStore


class ReadAudit:
    def __init__(self, store: SubjectAccessStore) -> None:
        self.store = store

    async def record(
        self,
        actor: Actor,
        now: datetime,
        action: str,
        target: str,
        person_ids: Iterable[str | None],
        detail: str = "",
    ) -> None:
        people = sorted({p for p in person_ids if p}) or [""]
        await self.store.audit_reads(
            [
                AuditEntry(
                    at=now,
                    who=actor.name,
                    role=actor.role.value,
                    action=action,
                    target=target,
                    person_id=person,
                    detail=detail,
                )
                for person in people
            ]
        )
