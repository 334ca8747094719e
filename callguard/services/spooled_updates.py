"""Spooled updates to call records (status callbacks, messages, other legs), applied.

As its spool is replayed, a replica applies each update to its call's record. A record can
be in another replica's spool still (replicas keep spools of their own: docs/operations.md),
so an update with no record is held in Redis for it (``CallStore.update``'s ``hold``). What
is held is applied when the record reaches Redis: by the replay that writes it
(``apply_held``), or by the sweep, a scheduled duty (``sweep``), for a record written live
rather than replayed (a narrow race: another replica replayed the update just before the
call's record was written live, as Redis came back). An update applied twice puts no
status back and undoes no triage; its other fields are set to the same values again
(``call_update_scripts.UPDATE_CALL``), so the two may meet.

The sweep finds the calls through an index (``keys.HELD_CALLS``) that releases before this
one did not keep: updates they held are applied by a replay of their record only, as then.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from callguard.services.errors import may_succeed_later
from callguard.store.call_records import CallStore

log = logging.getLogger("callguard.spooled_updates")


class SpooledUpdates:
    def __init__(self, store: CallStore) -> None:
        self.store = store

    async def apply(self, call_sid: str, entry: dict[str, object], *, hold: bool = False) -> None:
        """A spooled update. ``hold``: with no record, it is kept for the record (another
        replica's spool may hold it), to be applied when the record is written."""
        fields = entry["fields"]
        index = entry.get("index")
        assert isinstance(fields, dict)
        if entry.get("spoc_from_record") and isinstance(fields.get("message"), dict):
            # A message left for the SPOC while the record could not be read: their
            # name comes from the record, now that it can be.
            record = await self.store.get(call_sid)
            if record is not None and record.spoc_name:
                fields = {**fields, "message": {**fields["message"]}}
                fields["message"]["for_spoc"] = record.spoc_name
        applied = await self.store.update(
            call_sid,
            fields,
            bool(entry.get("finished")),
            (str(index[0]), float(index[1])) if isinstance(index, list) else None,
            hold=json.dumps(entry, separators=(",", ":")) if hold else "",
        )
        if not applied:
            log.warning("a spooled update was not applied: the call has no record")

    async def apply_held(self, call_sid: str) -> int:
        """The updates held for the call's record, applied now that it is written, then
        forgotten; how many were applied. One that can never be applied (unreadable, or
        refused by Redis for itself) is logged and kept, unapplied, until it expires; the
        rest are applied all the same (an update applied again, or out of order, changes
        nothing: ``call_update_scripts.UPDATE_CALL``), and the replay or sweep goes on."""
        held = await self.store.held(call_sid)
        applied = 0
        first_kept = len(held)
        for at, text in enumerate(held):
            try:
                await self.apply(call_sid, json.loads(text))
            except Exception as error:
                if may_succeed_later(error):
                    raise
                log.error(
                    "an update held for call %s cannot be applied (%s): it is kept, "
                    "not applied, until it expires",
                    call_sid,
                    type(error).__name__,
                )
                first_kept = min(first_kept, at)
                continue
            applied += 1
        if first_kept:
            # Those before the first kept are forgotten; those after it are applied again
            # by the next sweep, which changes nothing.
            await self.store.drop_held(call_sid, first_kept)
        return applied

    async def sweep(self, now: datetime) -> dict[str, int]:
        """The ``held_updates`` duty: each call with updates held whose record has been
        written since gets them; a call whose held updates expired unapplied leaves the
        index, logged by why: its record never came, or came too late or could not take
        them. ``now`` is unused: what is due is what Redis holds, whenever the sweep runs."""
        applied = calls = 0
        expired = {"no record": 0, "record": 0}
        for call_sid in await self.store.held_calls():
            if await self.store.has_record(call_sid):
                count = await self.apply_held(call_sid)
                if count:
                    applied += count
                    calls += 1
                    continue
                why = "record"
            elif await self.store.held(call_sid):
                continue  # still waiting for its record
            else:
                why = "no record"
            # Nothing held: expired, unless a replay applied it meanwhile (the replay took
            # the call out of the index then). Something held still (an update kept, as it
            # can never be applied): it stays, until it expires.
            _, removed = await self.store.drop_held(call_sid, 0)
            expired[why] += int(removed)
        if expired["no record"]:
            log.warning(
                "%d call(s) had updates held for a record that never reached Redis: "
                "they were not applied",
                expired["no record"],
            )
        if expired["record"]:
            log.warning(
                "%d call(s) had updates held that expired unapplied, though the call's record "
                "is in Redis: it came after they expired, or they could not be applied "
                "(each logged when it was found)",
                expired["record"],
            )
        return {"calls": calls, "updates_applied": applied, "expired": sum(expired.values())}
