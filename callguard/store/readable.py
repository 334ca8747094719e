"""Stored records this release cannot read, told apart from records that are not there.

A record written by a later release (an outcome, a status or a role this one does not
know: a replica not yet upgraded in a rolling upgrade, or a rollback) fails this release's
model. A list shown to people leaves such a record out, logged, so that the page stays up
for every other record; work that acts on what it reads (disposal, counts, reminders, a
subject access bundle) gets ``Unreadable`` instead, so that it never takes such a record
for one that is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

log = logging.getLogger("callguard.readable")

Record = TypeVar("Record")
# What the store gave for one record (its JSON text, or its hash and more), as ``parse``
# takes it: typed by ``parse`` alone, as redis-py types what it gives loosely.
Raw = Any


class Shown(list[Record]):
    """Records for a list shown to people: those this release can read, in order, and
    ``left_out``, the ids of those it cannot (each logged), so that the page can say how
    many it could not show."""

    def __init__(self, records: Iterable[Record] = (), left_out: Iterable[str] = ()) -> None:
        super().__init__(records)
        self.left_out = tuple(left_out)

    @classmethod
    def of(cls, read: tuple[list[Record], list[str]]) -> Shown[Record]:
        """What ``read_each`` read, for a list shown to people."""
        records, unreadable = read
        return cls(records, unreadable)

    def keeping(self, records: Iterable[Record]) -> Shown[Record]:
        """Some of these records (filtered, sorted or completed), with the same left out."""
        return Shown(records, self.left_out)


class Unreadable(ValueError):
    """Stored records (``ids``, of ``what`` kind) this release cannot read."""

    def __init__(self, what: str, ids: Sequence[str]) -> None:
        super().__init__(f"{len(ids)} {what} cannot be read by this release")
        self.what = what
        self.ids = list(ids)


def read_each(
    what: str, stored: Iterable[tuple[str, Raw]], parse: Callable[[Raw], Record]
) -> tuple[list[Record], list[str]]:
    """``parse`` of each stored (id, raw) pair, in order, skipping those not stored (a raw
    that is None or empty: gone since it was listed); and the ids of those it cannot read,
    each logged (by id and the kind of failure, never the content)."""
    records: list[Record] = []
    unreadable: list[str] = []
    for record_id, raw in stored:
        if not raw:
            continue
        try:
            records.append(parse(raw))
        except ValueError as error:
            log.error(
                "%s %s cannot be read by this release (%s)", what, record_id, type(error).__name__
            )
            unreadable.append(record_id)
    return records, unreadable


def read_one(what: str, record_id: str, raw: Raw, parse: Callable[[Raw], Record]) -> Record | None:
    """``parse`` of one stored record (None when it is not stored), or ``Unreadable``
    (logged) if this release cannot read it: a request about that record is refused with
    a plain answer, not a failure."""
    found = all_of(what, read_each(what, [(record_id, raw)], parse))
    return found[0] if found else None


def all_of(what: str, read: tuple[list[Record], list[str]]) -> list[Record]:
    """The records of ``read_each``, or ``Unreadable`` if any could not be read."""
    records, unreadable = read
    if unreadable:
        raise Unreadable(what, unreadable)
    return records
