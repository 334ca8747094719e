"""Subject access requests in Redis, and the audit of reads.

``subject-access:{id}`` is the request's JSON; ``subject-access`` and
``subject-access:person:{id}`` index it by when it was received. Logging a request and its
audit entry are one transaction; completing one is ``COMPLETE_SUBJECT_ACCESS``.

``audit_reads`` writes the audit of one read (of a person, a strategy, a call record, the
call log, a file note) in one round trip, however many people the read touched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Literal, cast

from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.subject_access import SubjectAccessRequest
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.readable import all_of, read_each, read_one
from callguard.store.scripts import AUDIT_READS, COMPLETE_SUBJECT_ACCESS, lua

Completion = Literal["completed", "already", "missing"]


def _epoch(request: SubjectAccessRequest) -> float:
    return datetime.combine(request.received_on, time(0, 0), tzinfo=UTC).timestamp()


class SubjectAccessStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._complete = redis.register_script(lua(COMPLETE_SUBJECT_ACCESS, keys))
        self._audit_reads = redis.register_script(lua(AUDIT_READS, keys))

    async def create(self, request: SubjectAccessRequest, audit: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.subject_access(request.id), request.model_dump_json())
            score = {request.id: _epoch(request)}
            pipe.zadd(self.keys.subject_access_all(), score)
            pipe.zadd(self.keys.subject_access_of(request.person_id), score)
            audit_store.add(pipe, self.keys, audit)
            await pipe.execute()

    async def get(self, request_id: str) -> SubjectAccessRequest | None:
        raw = await self.redis.get(self.keys.subject_access(request_id))
        parse = SubjectAccessRequest.model_validate_json
        return read_one("the subject access request", request_id, raw, parse)

    async def many(self, request_ids: Sequence[str]) -> dict[str, SubjectAccessRequest]:
        """The requests still stored, by the id each is stored under, in one round trip.
        Raises ``Unreadable`` if any is stored in a form this release cannot read
        (``store.readable``)."""
        return dict(all_of("subject access requests", await self._read(request_ids)))

    async def _read(
        self, request_ids: Sequence[str]
    ) -> tuple[list[tuple[str, SubjectAccessRequest]], list[str]]:
        """Each readable request with the id it is stored under, in order; the others' ids."""
        if not request_ids:
            return [], []
        raws = await self.redis.mget([self.keys.subject_access(i) for i in request_ids])
        stored = [(i, (i, raw)) for i, raw in zip(request_ids, raws, strict=True) if raw]
        return read_each("the subject access request", stored, _with_id)

    async def _index(self, index: str) -> tuple[list[SubjectAccessRequest], list[str]]:
        ids = cast(list[str], await self.redis.zrevrange(index, 0, -1))
        read, unreadable = await self._read(ids)
        return [request for _, request in read], unreadable

    async def all(self) -> list[SubjectAccessRequest]:
        """Every request, latest received first; ``Unreadable`` as ``many``."""
        return all_of("subject access requests", await self.read_all())

    async def read_all(self) -> tuple[list[SubjectAccessRequest], list[str]]:
        """``all``'s requests that this release can read, and the ids of the others: for a
        list shown to people."""
        return await self._index(self.keys.subject_access_all())

    async def of_person(self, person_id: str) -> list[SubjectAccessRequest]:
        """A person's requests; ``Unreadable`` as ``many``."""
        return all_of("subject access requests", await self.read_of_person(person_id))

    async def read_of_person(self, person_id: str) -> tuple[list[SubjectAccessRequest], list[str]]:
        """``of_person``'s requests that this release can read, and the ids of the others."""
        return await self._index(self.keys.subject_access_of(person_id))

    async def complete(self, request: SubjectAccessRequest, audit: AuditEntry) -> Completion:
        result = await self._complete(
            keys=[self.keys.subject_access(request.id)],
            args=[
                request.model_dump_json(),
                json.dumps(audit_store.audit_arg(self.keys, audit)),
            ],
        )
        return cast(Completion, str(result))

    async def audit_reads(self, entries: Sequence[AuditEntry]) -> None:
        """The audit of one read: its entries (one per person it touched) in one round
        trip, one script (``AUDIT_READS``)."""
        if not entries:
            return
        plan = [audit_store.audit_arg(self.keys, entry) for entry in entries]
        await self._audit_reads(keys=[self.keys.AUDIT], args=[json.dumps(plan)])


def _with_id(stored: tuple[str, str | bytes]) -> tuple[str, SubjectAccessRequest]:
    """A stored request with the id it is stored under (``SubjectAccessStore._read``)."""
    request_id, raw = stored
    return request_id, SubjectAccessRequest.model_validate_json(raw)
