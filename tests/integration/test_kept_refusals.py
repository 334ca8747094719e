"""A refusal that does not read the time is kept under the caller's number with the
fingerprint of the lookup it was decided on, by the call that decided it: the next call
from that number, from any process, is answered in one round trip, with the record and the
answer a decided call gets. The register makes no copies; it keeps those there are right
as it changes. A copy the register has moved on from is never used, refreshed or not.

Round trips are counted as in ``test_known_callers`` (its ``sent`` fixture)."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from callguard.domain.models import EndIn, RevisionIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services.container import Services
from callguard.services.register import Register
from callguard.services.screening import InboundCall, Screened, Screening
from callguard.store.call_plans import KEPT_FORM
from callguard.store.keys import KEPT_REFUSAL_TTL_S
from tests.conftest import DEFAULT_NOW, auth
from tests.helpers import Client, create_person, create_strategy, new_call_sid, services
from tests.integration.test_known_callers import (
    SPOC,
    TWO_PER_WINDOW,
    call,
    restricted,
    second_process,
    sent,
)

pytestmark = pytest.mark.timeout(30)

__all__ = ["sent"]  # the fixture, shared

PHONE = "+447700900123"
WRITTEN_ONLY = {
    "kind": "written_only",
    "email": "contact@example.org",
    "postal_address": "PO Box 1, Preston",
}
# A strategy's first revision: letters only from now on, the person told today.
TO_LETTERS_ONLY = {
    "expected_version": 1,
    "changes": {"restrictions": [WRITTEN_ONLY]},
    "why": "Letters only, as agreed",
    "notified_on": "2026-11-27",
}
# The call's own fields: the rest of two calls' records must be the same.
CALLS_OWN = {"call_sid", "from", "to", "received_at", "status"}


async def screened(
    screening: Screening,
    phone: str,
    sent: list[str],
    call_sid: str | None = None,
    status: str = "ringing",
    to: str = "+441772000000",
) -> tuple[str, Screened, list[str]]:
    """One call screened: its CallSid, its answer and the commands it sent."""
    sid = call_sid or new_call_sid()
    before = len(sent)
    answer = await screening.screen(
        InboundCall(call_sid=sid, caller=phone, to=to, status=status), DEFAULT_NOW
    )
    return sid, answer, sent[before:]


async def record_of(svc: Services, call_sid: str) -> dict[str, Any]:
    fields = cast(dict[str, str], await svc.redis.hgetall(svc.keys.call(call_sid)))
    return {name: json.loads(value) for name, value in fields.items()}


async def indexes_holding(
    svc: Services, call_sid: str, strategy_id: str, person_id: str
) -> set[str]:
    keys = svc.keys
    candidates = {
        "calls": keys.CALLS,
        "refused": keys.calls_by_outcome("refuse"),
        "connected": keys.calls_by_outcome("connect"),
        "person": keys.calls_by_person(person_id),
        "breaches": keys.breaches(strategy_id),
    }
    return {
        name
        for name, key in candidates.items()
        if await svc.redis.zscore(key, call_sid) is not None
    }


async def blocked_caller_who_called(
    client: Client, tokens: dict[str, str], restrictions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A person refused whatever the time, who has called once (so a refusal is kept)."""
    svc = services(client)
    strategy = await restricted(client, tokens, PHONE, restrictions or [{"kind": "phone_blocked"}])
    await call(svc.screening, PHONE)
    assert await svc.redis.exists(svc.keys.kept_refusal(PHONE))
    return strategy


# Each kind of refusal a copy must carry whole: what the caller is told beyond the record
# (the written contact details), a reasonable adjustment (extra time), and an interim
# measure not yet told in writing (a letter follows).
# Each: the restrictions, the person's and the strategy's own fields, who makes it, and
# the part of the decision it carries.
KINDS_OF_REFUSAL: dict[str, tuple[list[dict[str, Any]], dict[str, Any], str, dict[str, Any]]] = {
    "written only": (
        [WRITTEN_ONLY],
        {},
        "manager",
        {"rule": "written_only", "written_email": "contact@example.org"},
    ),
    "blocked, with extra time": (
        [{"kind": "phone_blocked"}],
        {"reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "speaks slowly"}]},
        "manager",
        {"rule": "phone_blocked", "extra_time": True},
    ),
    "no response, an interim measure": (
        [{"kind": "no_response"}],
        {"strategy": {"interim": True, "notified_on": None}},
        "chief_executive",
        {"rule": "no_response", "told_in_writing": False, "letter_follows": True},
    ),
}


@pytest.mark.parametrize("kind", list(KINDS_OF_REFUSAL))
async def test_a_refused_callers_next_call_takes_one_round_trip_with_the_decided_record(
    client: Client, tokens: dict[str, str], sent: list[str], kind: str
) -> None:
    restrictions, fields, role, carried = KINDS_OF_REFUSAL[kind]
    svc = services(client)
    await restricted(client, tokens, "+447700900100", [SPOC])
    await call(svc.screening, "+447700900100")  # both scripts loaded into the server
    person_fields = {k: v for k, v in fields.items() if k != "strategy"}
    person = await create_person(client, tokens["manager"], phones=[PHONE], **person_fields)
    strategy = await create_strategy(
        client, tokens[role], person["id"], restrictions, **fields.get("strategy", {})
    )
    assert not await svc.redis.exists(svc.keys.kept_refusal(PHONE))  # the register makes none

    decided_sid, decided, decided_trips = await screened(svc.screening, PHONE, sent)
    kept_sid, kept, kept_trips = await screened(
        second_process(svc), PHONE, sent, status="in-progress", to="+441772000009"
    )

    assert decided_trips == ["EVALSHA", "EVALSHA"]
    assert kept_trips == ["EVALSHA"]
    assert kept.decision == decided.decision
    assert kept.decision.outcome == "refuse"
    assert {name: getattr(kept.decision, name) for name in carried} == carried
    records = [await record_of(svc, sid) for sid in (kept_sid, decided_sid)]
    assert {k: v for k, v in records[0].items() if k not in CALLS_OWN} == {
        k: v for k, v in records[1].items() if k not in CALLS_OWN
    }
    assert {k: v for k, v in records[0].items() if k in CALLS_OWN} == {
        "call_sid": kept_sid,
        "from": PHONE,
        "to": "+441772000009",
        "received_at": "2026-11-27T10:00:00Z",
        "status": "in-progress",
    }
    person_id, strategy_id = strategy["person_id"], strategy["id"]
    for sid in (kept_sid, decided_sid):
        assert await indexes_holding(svc, sid, strategy_id, person_id) == {
            "calls",
            "refused",
            "person",
            "breaches",
        }
    assert not await svc.redis.sismember(svc.keys.LIVE_CALLS, kept_sid)
    ttl = await svc.redis.ttl(svc.keys.kept_refusal(PHONE))
    assert 0 < ttl <= KEPT_REFUSAL_TTL_S


async def test_a_copy_the_register_moved_on_from_is_never_used(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    """The strategy revised and then ended by a register that refreshes nothing: each next
    call gets what the register says now, never the copy."""
    svc = services(client)
    strategy = await blocked_caller_who_called(client, tokens)
    blind = Register(svc.register.store, svc.register.policy, svc.register.tz)
    stale = await svc.redis.get(svc.keys.kept_refusal(PHONE))
    actor = Actor(name="mo.manager", role=Role.manager)
    revision = RevisionIn.model_validate(TO_LETTERS_ONLY)
    await blind.revise(strategy["id"], revision, actor, DEFAULT_NOW)
    assert await svc.redis.get(svc.keys.kept_refusal(PHONE)) == stale  # not refreshed

    _, revised, trips = await screened(svc.screening, PHONE, sent)
    assert (revised.decision.rule, len(trips)) == ("written_only", 2)
    assert await svc.redis.get(svc.keys.kept_refusal(PHONE)) != stale  # kept afresh

    await blind.end(
        strategy["id"], EndIn(expected_version=2, why="Calm for three months"), actor, DEFAULT_NOW
    )
    ended = await call(svc.screening, PHONE)
    assert (ended.decision.outcome, ended.decision.rule) == ("connect", "none")


async def test_the_register_keeps_the_copy_right_as_the_strategy_changes(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    svc = services(client)
    strategy = await blocked_caller_who_called(client, tokens)
    ttl = await svc.redis.ttl(svc.keys.kept_refusal(PHONE))
    manager = auth(tokens["manager"])
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json=TO_LETTERS_ONLY,
        headers=manager,
    )
    assert revised.status == 201, await revised.text()
    # Refreshed, not made anew: it goes when it would have.
    assert 0 < await svc.redis.ttl(svc.keys.kept_refusal(PHONE)) <= ttl <= KEPT_REFUSAL_TTL_S

    _, after, trips = await screened(svc.screening, PHONE, sent)
    assert (after.decision.rule, trips) == ("written_only", ["EVALSHA"])

    ended = await client.post(
        f"/api/v1/strategies/{strategy['id']}/end",
        json={"expected_version": 2, "why": "The calls have been calm for three months"},
        headers=manager,
    )
    assert ended.status == 200, await ended.text()
    assert not await svc.redis.exists(svc.keys.kept_refusal(PHONE))


async def test_a_number_taken_off_a_person_loses_its_copy(
    client: Client, tokens: dict[str, str]
) -> None:
    svc = services(client)
    strategy = await blocked_caller_who_called(client, tokens)
    changed = await client.patch(
        f"/api/v1/people/{strategy['person_id']}",
        json={"phones": ["+447700900456"]},
        headers=auth(tokens["manager"]),
    )
    assert changed.status == 200, await changed.text()

    assert not await svc.redis.exists(svc.keys.kept_refusal(PHONE))
    assert not await svc.redis.exists(svc.keys.kept_refusal("+447700900456"))
    assert (await call(svc.screening, PHONE)).decision.outcome == "connect"
    assert (await call(svc.screening, "+447700900456")).decision.rule == "phone_blocked"


async def test_a_refusal_that_reads_the_time_is_not_kept(
    client: Client, tokens: dict[str, str]
) -> None:
    """Call windows: refused outside them, or once the quota is used, until a time that
    moves: decided on every call."""
    svc = services(client)
    one = {**TWO_PER_WINDOW, "max_calls": 1}
    await restricted(client, tokens, PHONE, [one])
    answers = [await call(svc.screening, PHONE) for _ in range(2)]
    assert [a.decision.rule for a in answers] == ["none", "call_windows.quota"]
    assert not await svc.redis.exists(svc.keys.kept_refusal(PHONE))
    # Blocked as well: the windows still read the time, so nothing is kept.
    person = await create_person(client, tokens["manager"], phones=["+447700900777"])
    await create_strategy(client, tokens["manager"], person["id"], [one, {"kind": "phone_blocked"}])
    blocked = await call(svc.screening, "+447700900777")
    assert blocked.decision.rule == "phone_blocked"
    assert not await svc.redis.exists(svc.keys.kept_refusal("+447700900777"))


async def test_a_repeated_webhook_on_a_kept_refusal_is_answered_the_same(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    svc = services(client)
    await blocked_caller_who_called(client, tokens)
    sid, first, trips = await screened(svc.screening, PHONE, sent)
    assert (first.repeated, len(trips)) == (False, 1)

    _, again, _ = await screened(svc.screening, PHONE, sent, call_sid=sid)

    assert again.repeated
    assert (again.decision.outcome, again.decision.rule) == ("refuse", "phone_blocked")
    assert await svc.redis.zcard(svc.keys.CALLS) == 2


async def test_a_register_change_stands_when_the_copy_cannot_be_kept_right(
    client: Client, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    """The copy is only a saving: not refreshed, it is not used, and the next call keeps
    the refusal as it now is."""
    svc = services(client)
    strategy = await blocked_caller_who_called(client, tokens)
    kept = svc.register.kept
    assert kept is not None

    async def unreachable(phone: str) -> None:
        raise ConnectionError("Redis went away")

    with monkeypatch.context() as patched:
        patched.setattr(kept.store, "matched", unreachable)
        revised = await client.post(
            f"/api/v1/strategies/{strategy['id']}/revisions",
            json=TO_LETTERS_ONLY,
            headers=auth(tokens["manager"]),
        )
    assert revised.status == 201, await revised.text()

    _, after, trips = await screened(svc.screening, PHONE, sent)
    assert (after.decision.rule, len(trips)) == ("written_only", 2)
    _, again, trips = await screened(svc.screening, PHONE, sent)
    assert (again.decision.rule, len(trips)) == ("written_only", 1)


async def test_a_copy_in_another_form_is_not_used_and_is_kept_again(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    """A copy kept by a release that built records or decisions differently."""
    svc = services(client)
    await blocked_caller_who_called(client, tokens)
    key = svc.keys.kept_refusal(PHONE)
    fingerprint, form, rest = str(await svc.redis.get(key)).split("\n", 2)
    assert form == KEPT_FORM
    await svc.redis.set(key, "\n".join([fingerprint, "kept-0-older", rest]))

    _, first, trips = await screened(svc.screening, PHONE, sent)
    _, second, again = await screened(svc.screening, PHONE, sent)

    assert (first.decision.rule, len(trips)) == ("phone_blocked", 2)
    assert (second.decision.rule, len(again)) == ("phone_blocked", 1)
    assert str(await svc.redis.get(key)).split("\n")[1] == KEPT_FORM


async def test_a_copy_that_cannot_be_read_is_used_once_at_most(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    """None should be (the form is checked); if one is, its call fails open, as any call
    does when something goes wrong, and the copy goes: the next call is decided."""
    svc = services(client)
    await blocked_caller_who_called(client, tokens)
    key = svc.keys.kept_refusal(PHONE)
    fingerprint, form, _told, rest = str(await svc.redis.get(key)).split("\n", 3)
    await svc.redis.set(key, "\n".join([fingerprint, form, "{not json", rest]))

    sid, failed_open, _ = await screened(svc.screening, PHONE, sent)
    assert (failed_open.decision.outcome, failed_open.degraded) == ("connect", True)
    assert not await svc.redis.exists(key)
    await svc.screening.replay_spool()  # the record says what the caller got
    record = await record_of(svc, sid)
    assert (record["outcome"], record["degraded"]) == ("connect", True)

    _, after, trips = await screened(svc.screening, PHONE, sent)
    assert (after.decision.rule, after.degraded, len(trips)) == ("phone_blocked", False, 2)


async def test_an_adjustment_added_to_the_person_refreshes_the_copy(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    svc = services(client)
    strategy = await blocked_caller_who_called(client, tokens)
    changed = await client.patch(
        f"/api/v1/people/{strategy['person_id']}",
        json={"reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "speaks slowly"}]},
        headers=auth(tokens["manager"]),
    )
    assert changed.status == 200, await changed.text()

    _, after, trips = await screened(svc.screening, PHONE, sent)

    assert (after.decision.rule, after.decision.extra_time, len(trips)) == (
        "phone_blocked",
        True,
        1,
    )
