"""What happens to a call after it was screened: status, conference and leg events,
messages and recordings. Each update is idempotent, and is spooled if Redis is away.

Fail open (CONTRACT §6): each step with the store is bounded by ``budget_s`` (the inbound
path's budget, set by the Twilio edge at start-up), so a stalled Redis delays a webhook's
answer by no more than that; an update that could not be written is spooled (fsync'd)
and replayed in order behind the call's record (or, if another replica spooled the record,
held in Redis until that replica's replay writes it: ``Screening``'s replay).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from callguard.domain.records import TERMINAL_STATUSES, CallMessage, CallRecord
from callguard.services.errors import Gone, NotFound, PhoneSystemFailed
from callguard.store.call_records import CallStore
from callguard.store.spool import Spool
from callguard.telephony import RecordingNotFetched, Telephony
from callguard.urls import Callbacks

log = logging.getLogger("callguard.calls")

UNANSWERED_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})
# A message's sound, once fetched, is kept this long in the process's memory (nowhere else),
# so that a player's later requests for parts of it (to seek; Safari asks for several before
# it plays) are answered without fetching it again; at most this much in all.
SOUND_KEPT_FOR = timedelta(minutes=5)
SOUNDS_KEPT_MAX_BYTES = 32 * 2**20


class RecentSounds:
    """Messages' sounds fetched in the last ``kept_for``, up to ``max_bytes`` in all (the
    first fetched go first), by recording."""

    def __init__(
        self, kept_for: timedelta = SOUND_KEPT_FOR, max_bytes: int = SOUNDS_KEPT_MAX_BYTES
    ) -> None:
        self.kept_for = kept_for
        self.max_bytes = max_bytes
        self._sounds: OrderedDict[str, tuple[datetime, bytes]] = OrderedDict()
        self._bytes = 0

    def get(self, recording_sid: str, now: datetime) -> bytes | None:
        while self._sounds:
            oldest, (fetched_at, _) = next(iter(self._sounds.items()))
            if now - fetched_at < self.kept_for:
                break
            self._forget(oldest)
        kept = self._sounds.get(recording_sid)
        return kept[1] if kept else None

    def keep(self, recording_sid: str, audio: bytes, now: datetime) -> None:
        self._forget(recording_sid)
        if len(audio) > self.max_bytes:
            return
        self._sounds[recording_sid] = (now, audio)
        self._bytes += len(audio)
        while self._bytes > self.max_bytes:
            self._forget(next(iter(self._sounds)))

    def _forget(self, recording_sid: str) -> None:
        kept = self._sounds.pop(recording_sid, None)
        if kept is not None:
            self._bytes -= len(kept[1])


class CallEvents:
    def __init__(
        self, store: CallStore, spool: Spool, telephony: Telephony, callbacks: Callbacks
    ) -> None:
        self.store = store
        self.spool = spool
        self.telephony = telephony
        self.callbacks = callbacks
        # The longest one step with the store may take before it is given up (None: as long
        # as the connection's own timeout).
        self.budget_s: float | None = None
        self.sounds = RecentSounds()

    async def get(self, call_sid: str) -> CallRecord:
        record = await self.store.get(call_sid)
        if record is None:
            raise NotFound(f"no call {call_sid}")
        return record

    async def message_audio(self, call_sid: str, now: datetime) -> tuple[CallRecord, bytes]:
        """The call's record and the sound of the message the caller left (§3.10: staff
        listen to every one), fetched from the phone system, which keeps it (or kept from
        a fetch in the last ``SOUND_KEPT_FOR``)."""
        record = await self.get(call_sid)
        recording = record.message.recording_sid if record.message else None
        if not recording:
            raise NotFound(f"call {call_sid} has no message")
        kept = self.sounds.get(recording, now)
        if kept is not None:
            return record, kept
        try:
            audio = await self.telephony.fetch_recording(recording)
        except RecordingNotFetched as failed:
            log.warning("message recording not fetched (%s)", failed)
            raise PhoneSystemFailed(
                "The phone system did not give the message's recording. Try again in a minute."
            ) from failed
        if audio is None:
            raise Gone(
                "The phone system does not have this message's recording at the moment. Try "
                "again later, and tell a manager if this goes on."
            )
        self.sounds.keep(recording, audio, now)
        return record, audio

    async def get_if_reachable(self, call_sid: str) -> CallRecord | None:
        """The record, or None when it is not in the store (yet) or the store did not answer
        within the budget: a webhook then answers from what it knows (fail open)."""
        try:
            async with asyncio.timeout(self.budget_s):
                return await self.store.get(call_sid)
        except Exception as error:
            log.warning("call record unavailable; answering without it (%s)", type(error).__name__)
            return None

    async def _update(
        self,
        call_sid: str,
        fields: dict[str, Any],
        finished: bool = False,
        index: tuple[str, float] | None = None,
        *,
        spoc_from_record: bool = False,
    ) -> None:
        """Update the record; if it is not in Redis yet (or Redis is away), spool the update
        behind the record so that replay applies it in order. ``spoc_from_record``: the
        message was left for the SPOC, whose name the replay takes from the record."""
        try:
            async with asyncio.timeout(self.budget_s):
                if await self.store.update(call_sid, fields, finished, index):
                    return
        except Exception as error:
            log.warning("update of call spooled (%s)", type(error).__name__)
        entry: dict[str, Any] = {
            "kind": "update",
            "call_sid": call_sid,
            "fields": fields,
            "finished": finished,
            "index": list(index) if index else None,
        }
        if spoc_from_record:
            entry["spoc_from_record"] = True
        await self.spool.append(entry)

    async def status(self, call_sid: str, status: str, duration_s: int | None) -> None:
        fields: dict[str, Any] = {"status": status}
        if duration_s is not None:
            fields["duration_s"] = duration_s
        await self._update(call_sid, fields, finished=status in TERMINAL_STATUSES)

    async def conference_event(self, call_sid: str, event: str, conference_sid: str) -> None:
        if conference_sid and event in ("conference-start", "participant-join"):
            await self._update(call_sid, {"conference_sid": conference_sid})

    async def leg_status(self, call_sid: str, leg_status: str) -> bool:
        """The other leg's progress. If it was not answered, the caller is not left waiting:
        they are taken to a message (§3.10). Returns True when the caller was redirected."""
        await self._update(call_sid, {"other_leg_status": leg_status})
        if leg_status not in UNANSWERED_STATUSES:
            return False
        try:
            async with asyncio.timeout(self.budget_s):
                record = await self.store.get(call_sid)
        except Exception as error:
            # The store is away: try the redirect all the same (Twilio refuses it if the
            # caller is no longer on the line), rather than leave the caller waiting.
            log.warning("leg status without the record (%s)", type(error).__name__)
            record = None
        else:
            if record is None or not record.in_progress:
                return False
        try:
            await self.telephony.redirect_call(
                call_sid=call_sid, url=self.callbacks.unanswered(call_sid)
            )
        except Exception as error:
            # Typically the caller hung up as the leg gave up (Twilio: "not in progress").
            # The leg's status is kept; the callback must still be answered, not fail.
            log.warning("could not take the caller to a message (%s)", type(error).__name__)
            return False
        return True

    async def new_matter_claimed(self, call_sid: str) -> None:
        await self._update(call_sid, {"new_matter_claimed": True})

    async def message_recorded(
        self,
        call_sid: str,
        *,
        recording_sid: str,
        recording_url: str,
        duration_s: int,
        new_matter: bool,
        for_spoc: str | None,
        now: datetime,
        spoc_from_record: bool = False,
    ) -> None:
        """A caller's message, kept for review and added to the list to triage (§3.10).
        ``spoc_from_record``: it was left for the SPOC, but the record (and so the SPOC's
        name) could not be read; the name is filled in from the record when it is written."""
        message = CallMessage(
            recording_sid=recording_sid,
            recording_url=recording_url,
            duration_s=duration_s,
            recorded_at=now,
            new_matter=new_matter,
            for_spoc=for_spoc,
        )
        await self._update(
            call_sid,
            {"message": message.model_dump(mode="json")},
            index=(self.store.keys.MESSAGES, now.timestamp()),
            spoc_from_record=spoc_from_record,
        )

    async def recording_ready(self, call_sid: str, recording_sid: str, recording_url: str) -> None:
        await self._update(
            call_sid, {"recording_sid": recording_sid, "recording_url": recording_url}
        )
