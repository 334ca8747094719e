"""The quarterly oversight report: counts of every restriction in a quarter, as JSON and CSV,
made on demand and kept by the quarterly job; no personal data in it."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest

from callguard.bootstrap import build_duties
from callguard.clock import FixedClock
from callguard.domain.records import CallEvent
from callguard.store.container import build_stores
from tests.conftest import KEYS, auth
from tests.helpers import Client, create_person, create_strategy, inbound_call, new_call_sid
from tests.helpers import services as services_of
from tests.integration.scheduler_support import TZ, at, with_overdue

pytestmark = pytest.mark.timeout(30)

BLOCKED = [{"kind": "phone_blocked"}]


async def strategy_at(
    client: Client, token: str, clock: FixedClock, when: datetime, phone: str, review_due: str
) -> dict[str, Any]:
    clock.set(when)
    person = await create_person(client, token, phones=[phone])
    return await create_strategy(
        client,
        token,
        person["id"],
        BLOCKED,
        review_due=review_due,
        notified_on=when.astimezone(TZ).date().isoformat(),
    )


async def call_at(client: Client, clock: FixedClock, when: datetime, phone: str) -> str:
    clock.set(when)
    sid = new_call_sid()
    assert (await inbound_call(client, phone, sid)).status == 200
    return sid


async def a_quarter(client: Client, tokens: dict[str, str], clock: FixedClock) -> list[str]:
    """Q4 2026: one strategy from Q3 ended in it, one new and in force, one new and lapsed
    for want of a review; two refused calls, one in Q3; two calls ended by staff."""
    manager = tokens["manager"]
    old = await strategy_at(client, manager, clock, at(2026, 9, 15), "07700 900701", "2026-12-01")
    await strategy_at(client, manager, clock, at(2026, 10, 5), "07700 900702", "2026-12-20")
    await strategy_at(client, manager, clock, at(2026, 11, 20), "07700 900703", "2026-11-25")
    await call_at(client, clock, at(2026, 9, 20), "07700 900701")  # Q3: not counted
    refused = [await call_at(client, clock, at(2026, 11, d), "07700 900702") for d in (1, 2)]
    clock.set(at(2026, 10, 10))
    response = await client.post(
        f"/api/v1/strategies/{old['id']}/end",
        json={"expected_version": 1, "why": "Behaviour has improved; restriction no longer needed"},
        headers=auth(manager),
    )
    assert response.status == 200, await response.text()
    for day, reason in ((3, "verbal_abuse"), (4, "threats")):
        sid = await call_at(client, clock, at(2026, 11, day), "07700 900800")
        ended = CallEvent(at=clock.now(), reason=reason, by="sam.staff")
        await services_of(client).calls.update(sid, {"ended": ended.model_dump(mode="json")}, True)
    clock.set(at(2026, 11, 27))
    services = services_of(client)
    lapse = build_duties(
        build_stores(services.redis, KEYS), with_overdue(services.policy, "lapse"), TZ
    )
    assert (await lapse.run("reviews", clock.now())).summary == {
        "reminders": 0,
        "escalations": 0,
        "lapsed": 1,
        "lapse_notices": 1,
        "overdue": 1,
    }
    return refused


async def test_the_oversight_report_counts_every_restriction_in_the_quarter(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    await a_quarter(client, tokens, clock)

    response = await client.get(
        "/api/v1/reports/oversight?quarter=2026-Q4", headers=auth(tokens["manager"])
    )

    assert response.status == 200, await response.text()
    report = await response.json()
    assert report == {
        "quarter": "2026-Q4",
        "starts_on": "2026-10-01",
        "ends_on": "2026-12-31",
        "generated_at": "2026-11-27T10:00:00Z",
        "complete": False,
        "strategies": {
            "in_force": 3,
            "active_at_end": 1,
            "new": 2,
            "ended": 1,
            "lapsed": 1,
            "awaiting_notice": 0,
        },
        "restrictions_in_force": {"phone_blocked": 1},
        "reviews_overdue": 1,
        "calls": {
            "breaches": 2,
            "refused": 2,
            "ended_by_staff": 2,
            "ended_by_reason": {"threats": 1, "verbal_abuse": 1},
        },
        "appeals": {
            "received": 0,
            "decided": 0,
            "upheld": 0,
            "varied": 0,
            "ended": 0,
            "overdue": 0,
        },
    }


async def told_quarter(client: Client, manager: str, clock: FixedClock) -> None:
    """Q3 2026: one strategy made, awaiting notice (told in Q4). Q4: one told at once, then
    revised to written contact only without telling the person; one awaiting notice
    throughout; one ended before the person was ever told. A call from each of the first
    two people: the revision not yet told of refuses it, the one awaiting notice does not."""

    async def made(when: datetime, phone: str, notified: bool) -> dict[str, Any]:
        clock.set(when)
        person = await create_person(client, manager, phones=[phone])
        notified_on = when.astimezone(TZ).date().isoformat() if notified else None
        return await create_strategy(
            client, manager, person["id"], BLOCKED, review_due="2026-12-10", notified_on=notified_on
        )

    async def post(path: str, body: dict[str, Any]) -> None:
        response = await client.post(path, json=body, headers=auth(manager))
        assert response.status in (200, 201), await response.text()

    told_later = await made(at(2026, 9, 15), "07700 900711", notified=False)
    revised = await made(at(2026, 10, 5), "07700 900712", notified=True)
    await made(at(2026, 10, 6), "07700 900713", notified=False)
    never_told = await made(at(2026, 10, 7), "07700 900714", notified=False)
    clock.set(at(2026, 10, 8))
    await post(
        f"/api/v1/strategies/{never_told['id']}/end",
        {"expected_version": 1, "why": "Made in error: a different complaint"},
    )
    clock.set(at(2026, 10, 20))
    await post(
        f"/api/v1/strategies/{told_later['id']}/versions/1/notified",
        {"notified_on": "2026-10-20", "method": "post"},
    )
    clock.set(at(2026, 11, 10))
    written = {"kind": "written_only", "email": "complaints@example.org"}
    await post(
        f"/api/v1/strategies/{revised['id']}/revisions",
        {
            "expected_version": 1,
            "changes": {"restrictions": [written]},
            "why": "Calls have stopped; letters and e-mail are enough",
        },
    )
    await call_at(client, clock, at(2026, 11, 12), "07700 900712")  # refused: still blocked
    await call_at(client, clock, at(2026, 11, 13), "07700 900713")  # put through
    clock.set(at(2026, 11, 27))


async def test_strategies_count_as_in_force_from_when_the_person_is_told(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    """§3.6 notice before effect: the report counts what applied to calls. A strategy
    awaiting notice is counted apart, not as in force; a revision not yet told of leaves
    the version before it counted; one told of later is new in the quarter it was told."""
    manager = tokens["manager"]
    await told_quarter(client, manager, clock)

    q4 = await client.get("/api/v1/reports/oversight?quarter=2026-Q4", headers=auth(manager))
    q3 = await client.get("/api/v1/reports/oversight?quarter=2026-Q3", headers=auth(manager))

    report = await q4.json()
    assert report["strategies"] == {
        "in_force": 2,
        "active_at_end": 2,
        "new": 2,
        "ended": 0,
        "lapsed": 0,
        "awaiting_notice": 1,
    }
    assert report["restrictions_in_force"] == {"phone_blocked": 2}
    assert report["calls"]["breaches"] == report["calls"]["refused"] == 1
    before = await q3.json()
    assert before["complete"] is True
    assert before["strategies"] == {
        "in_force": 0,
        "active_at_end": 0,
        "new": 0,
        "ended": 0,
        "lapsed": 0,
        "awaiting_notice": 1,
    }
    assert before["restrictions_in_force"] == {}


# A quarter's report as a release from before notice was counted kept it (no count of the
# strategies awaiting notice).
KEPT_BEFORE_NOTICE_COUNTED: dict[str, Any] = {
    "quarter": "2026-Q2",
    "starts_on": "2026-04-01",
    "ends_on": "2026-06-30",
    "generated_at": "2026-07-01T05:00:00Z",
    "complete": True,
    "strategies": {"in_force": 4, "active_at_end": 3, "new": 1, "ended": 1, "lapsed": 0},
    "restrictions_in_force": {"phone_blocked": 3},
    "reviews_overdue": 0,
    "calls": {"breaches": 2, "refused": 2, "ended_by_staff": 0, "ended_by_reason": {}},
}


async def test_a_report_kept_before_notice_was_counted_still_reads(
    client: Client, tokens: dict[str, str]
) -> None:
    """A quarter's report kept by an earlier release has no count of strategies awaiting
    notice: it reads as not counted (not as none), and says the rest as it was kept."""
    kept = KEPT_BEFORE_NOTICE_COUNTED
    assert await services_of(client).duties.reports.store.put_if_absent("2026-Q2", json.dumps(kept))
    manager = auth(tokens["manager"])

    response = await client.get("/api/v1/reports/oversight?quarter=2026-Q2", headers=manager)
    as_csv = await client.get("/api/v1/reports/oversight.csv?quarter=2026-Q2", headers=manager)

    assert response.status == 200, await response.text()
    report = await response.json()
    assert report["strategies"] == {**kept["strategies"], "awaiting_notice": None}
    assert report["restrictions_in_force"] == {"phone_blocked": 3}
    rows = dict(list(csv.reader(io.StringIO(await as_csv.text())))[1:])
    assert rows["strategies.active_at_end"] == "3"
    assert rows["strategies.awaiting_notice"] == "not counted"


async def test_the_report_as_csv_has_one_row_per_number_and_no_personal_data(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    refused = await a_quarter(client, tokens, clock)

    response = await client.get(
        "/api/v1/reports/oversight.csv?quarter=2026-Q4", headers=auth(tokens["manager"])
    )

    assert response.status == 200
    assert response.content_type == "text/csv"
    assert 'filename="oversight-2026-Q4.csv"' in response.headers["Content-Disposition"]
    text = await response.text()
    rows = dict(list(csv.reader(io.StringIO(text)))[1:])
    assert rows["strategies.in_force"] == "3"
    assert rows["strategies.lapsed"] == "1"
    assert rows["restrictions_in_force.phone_blocked"] == "1"
    assert rows["reviews_overdue"] == "1"
    assert rows["calls.breaches"] == "2"
    assert rows["calls.ended_by_reason.threats"] == "1"
    assert rows["complete"] == "no"
    for secret in [*refused, "900702", "per_", "str_"]:
        assert secret not in text


async def test_the_quarterly_job_keeps_the_finished_quarters_report(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    await a_quarter(client, tokens, clock)
    duties = services_of(client).duties

    before_end = await duties.run("oversight_report", at(2026, 12, 31, 6))
    first = await duties.run("oversight_report", at(2027, 1, 1, 6))
    second = await duties.run("oversight_report", at(2027, 1, 2, 6))
    # Something changes after the quarter closed (here: a call is dated into it).
    await call_at(client, clock, at(2026, 12, 30), "07700 900702")
    clock.set(at(2027, 2, 1))
    response = await client.get(
        "/api/v1/reports/oversight?quarter=2026-Q4", headers=auth(tokens["manager"])
    )

    assert before_end.summary == {"quarter": "2026-Q3", "outcome": "kept"}
    assert first.summary == {"quarter": "2026-Q4", "outcome": "kept"}
    assert second.summary == {"quarter": "2026-Q4", "outcome": "already_kept"}
    report = await response.json()
    assert report["complete"] is True
    assert report["generated_at"] == "2027-01-01T06:00:00Z"
    assert report["calls"]["refused"] == 2  # as kept, not recounted


async def test_a_finished_quarter_asked_for_is_kept_as_first_made(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    await a_quarter(client, tokens, clock)
    first = await client.get(
        "/api/v1/reports/oversight?quarter=2026-Q3", headers=auth(tokens["manager"])
    )
    await call_at(client, clock, at(2026, 9, 21), "07700 900701")
    clock.set(at(2026, 11, 28))
    again = await client.get(
        "/api/v1/reports/oversight?quarter=2026-Q3", headers=auth(tokens["manager"])
    )

    assert (await first.json())["calls"]["refused"] == 1
    assert await again.json() == await first.json()


async def test_which_quarter_and_who_may_read_it(client: Client, tokens: dict[str, str]) -> None:
    manager = auth(tokens["manager"])

    default = await client.get("/api/v1/reports/oversight", headers=manager)
    malformed = await client.get("/api/v1/reports/oversight?quarter=2026-Q5", headers=manager)
    future = await client.get("/api/v1/reports/oversight?quarter=2027-Q1", headers=manager)
    by_staff = await client.get(
        "/api/v1/reports/oversight?quarter=2026-Q4", headers=auth(tokens["staff"])
    )
    by_ceo = await client.get(
        "/api/v1/reports/oversight.csv", headers=auth(tokens["chief_executive"])
    )

    assert default.status == 200 and (await default.json())["quarter"] == "2026-Q4"
    assert malformed.status == 422
    assert [f["field"] for f in (await malformed.json())["fields"]] == ["quarter"]
    assert future.status == 422
    assert by_staff.status == 403
    assert by_ceo.status == 200
