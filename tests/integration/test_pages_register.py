"""The managers' pages over HTTP: the register's forms validated by the API's own models,
errors beside their fields, revisions, reviews, the call log with its CSV, the preview."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from callguard.clock import FixedClock
from callguard.domain.audit import AuditEntry
from callguard.domain.dates import add_months
from callguard.domain.models import StrategyIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.settings import Settings
from tests.e2e.support import (
    ADMIN,
    FULL_NAME,
    MANAGER,
    STAFF,
    Client,
    demo_pages,
    fast_passwords,
    page_csrf,
    sign_in,
)
from tests.helpers import date_fields, inbound_call, services
from tests.integration.test_migrate import file_note

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


async def person_id(client: Client, name: str) -> str:
    people, _ = await services(client).register.store.list_people(0, 100)
    return next(p.id for p in people if p.name == name)


def error_beside(html: str, input_id: str) -> str:
    found = re.search(
        rf'<p id="{re.escape(input_id)}-error" class="govuk-error-message">(.*?)</p>', html, re.S
    )
    assert found, f"no error beside {input_id}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def strategy_form(pid: str, **extra: Any) -> dict[str, Any]:
    return {
        "person_id": pid,
        "matter_ref": "CMP-2026-0999",
        "reason": "Repeated calls to several staff for a different answer",
        "kinds": ["call_windows", "recorded"],
        "restrictions-call_windows-windows-0-days": ["mon", "wed"],
        "restrictions-call_windows-windows-0-start": "10:00",
        "restrictions-call_windows-windows-0-end": "09:00",
        "restrictions-call_windows-max_calls": "2",
        "restrictions-call_windows-per": "week",
        **date_fields("review_due", "2027-02-01"),
        # Told in writing, so it applies at once and is listed with the active ones (§3.6).
        **date_fields("notified_on", "2026-11-20"),
        **extra,
    }


async def post_form(
    client: Client, path: str, form: dict[str, Any], page: str | None = None
) -> Any:
    token = await page_csrf(client, page or path)
    data: list[tuple[str, str]] = [("csrf_token", token)]
    for name, value in form.items():
        for item in value if isinstance(value, list) else [value]:
            data.append((name, item))
    return await client.post(path, data=data, allow_redirects=False)


async def test_every_manager_page_renders(manager: Client) -> None:
    pid = await person_id(manager, "Alex Window")
    strategies = await services(manager).register.store.strategies_of(pid)
    for path in (
        "/manage",
        "/people",
        "/people/new",
        f"/people/{pid}",
        "/strategies/new",
        f"/strategies/{strategies[0].id}",
        f"/strategies/{strategies[0].id}/revise",
        f"/strategies/{strategies[0].id}/review",
        f"/strategies/{strategies[0].id}/end",
        "/reviews",
        "/notes",
        "/welfare",
        "/calls",
        "/preview",
        "/console",
        "/oversight",
        "/oversight?quarter=2026-Q3",
        "/oversight.csv",
    ):
        response = await manager.get(path)
        assert response.status == 200, (path, await response.text())


async def test_a_strategy_error_is_shown_beside_its_field_then_fixed_and_found(
    manager: Client,
) -> None:
    pid = await person_id(manager, "Cal Recorded")
    bad = await post_form(manager, "/strategies/new", strategy_form(pid))
    assert bad.status == 422
    html = await bad.text()
    assert "The end time must be later than the start time, 10am" in error_beside(
        html, "restrictions-call_windows-windows-0-end"
    )
    assert 'href="#restrictions-call_windows-windows-0-end"' in html  # the error summary
    assert 'value="10:00"' in html  # what was typed is kept

    good = await post_form(
        manager,
        "/strategies/new",
        strategy_form(pid, **{"restrictions-call_windows-windows-0-end": "12:00"}),
    )
    assert good.status == 303
    register = await (await manager.get("/people?q=CMP-2026-0999")).text()
    assert "CMP-2026-0999" in register
    assert "Calls only Mondays and Wednesdays 10am to midday, 2 calls per week" in register


async def test_service_rules_land_beside_their_fields_too(manager: Client) -> None:
    pid = await person_id(manager, "Hal Adjusted")  # needs_phone_contact
    form = {
        "person_id": pid,
        "matter_ref": "CMP-2026-1000",
        "reason": "Excessively long calls",
        "kinds": ["written_only"],
        "restrictions-written_only-email": "complaints@opcc.example",
        **date_fields("review_due", "2027-09-01"),
    }
    response = await post_form(manager, "/strategies/new", form)
    assert response.status == 422
    html = await response.text()
    assert "at most 3 months away" in error_beside(html, "review_due")
    assert "The person needs phone contact" in error_beside(html, "adjustment_override")


async def test_a_manager_may_not_create_no_response(manager: Client) -> None:
    pid = await person_id(manager, "Cal Recorded")
    form = {
        "person_id": pid,
        "matter_ref": "CMP-2026-1001",
        "reason": "All reviews exhausted",
        "kinds": ["no_response"],
        **date_fields("review_due", "2027-01-20"),
    }
    response = await post_form(manager, "/strategies/new", form)
    assert response.status == 403
    said = error_beside(await response.text(), "restrictions")
    assert said == "Error: A manager cannot set “no response”: only the chief executive can (§8.3)"
    # A person no longer on the register (or a choice tampered with): words, no id.
    tampered = {**form, "person_id": "per_nonexistent", "kinds": ["recorded"]}
    gone = await post_form(manager, "/strategies/new", tampered)
    assert gone.status == 422
    assert error_beside(await gone.text(), "person_id") == "Error: Choose a person from the list"


async def test_revise_review_and_end_a_strategy(manager: Client) -> None:
    pid = await person_id(manager, "Bea Spoc")
    [strategy] = await services(manager).register.store.strategies_of(pid)
    base = f"/strategies/{strategy.id}"
    revise_page = await (await manager.get(base + "/revise")).text()
    assert 'value="Jo Bloggs"' in revise_page
    form = {
        "expected_version": str(strategy.version),
        "matter_ref": strategy.matter_ref,
        "reason": strategy.reason,
        "kinds": ["spoc", "recorded"],
        "restrictions-spoc-name": "Jo Bloggs",
        "restrictions-spoc-phone": "+441772000001",
        **date_fields("review_due", strategy.review_due.isoformat()),
    }
    no_why = await post_form(manager, base + "/revise", form, base + "/revise")
    assert no_why.status == 422
    assert error_beside(await no_why.text(), "why")
    unchanged = {**form, "kinds": ["spoc"], "why": "Nothing, by mistake"}
    nothing = await post_form(manager, base + "/revise", unchanged, base + "/revise")
    assert nothing.status == 422
    said = error_beside(await nothing.text(), "changes")
    assert said == "Error: Change at least one thing to save a revision"
    revised = await post_form(
        manager, base + "/revise", {**form, "why": "Calls to be recorded"}, base + "/revise"
    )
    assert revised.status == 303
    page = await (await manager.get(base)).text()
    assert "Version 2: revised (restrictions)" in page

    review_page = await (await manager.get(base + "/review")).text()
    assert 'name="outcome"' in review_page and "checked" not in review_page  # none chosen
    unchosen = await post_form(
        manager, base + "/review", {"expected_version": "2", "notes": "Seen"}, base + "/review"
    )
    assert unchosen.status == 422
    assert (
        error_beside(await unchosen.text(), "outcome") == "Error: Choose the outcome of the review"
    )
    reviewed = await post_form(
        manager,
        base + "/review",
        {
            "expected_version": "2",
            "outcome": "continue",
            "notes": "Still needed",
            **date_fields("next_review_due", "2027-02-10"),
        },
        base + "/review",
    )
    assert reviewed.status == 303
    ended = await post_form(
        manager, base + "/end", {"expected_version": "3", "why": "Matter closed"}, base + "/end"
    )
    assert ended.status == 303
    final = await services(manager).register.strategy(strategy.id)
    assert final.status.value == "ended" and final.version == 4


async def test_a_form_sent_after_someone_else_changed_the_strategy_is_shown_again(
    manager: Client,
) -> None:
    """Revise, review and end, each sent against version 1 after another change made
    version 2: nothing is saved, and the page says why in words (no id). The review and end
    forms come back with what was typed, now for version 2. The revise form comes back
    showing version 2 itself, keeping only what describes the revision (why): what was
    typed over version 1, sent again, would undo the other person's change."""
    pid = await person_id(manager, "Bea Spoc")
    [strategy] = await services(manager).register.store.strategies_of(pid)
    base = f"/strategies/{strategy.id}"
    revise = {
        "expected_version": "1",
        "matter_ref": strategy.matter_ref,
        "reason": strategy.reason,
        "kinds": ["spoc", "recorded"],
        "restrictions-spoc-name": "Jo Bloggs",
        "restrictions-spoc-phone": "+441772000001",
        **date_fields("review_due", strategy.review_due.isoformat()),
        "why": "Calls to be recorded after the meeting on 3 December",
    }
    first = await post_form(manager, base + "/revise", revise, base + "/revise")
    assert first.status == 303  # version 2: calls recorded

    # Another manager, still on version 1 (no recording), changes only the reason.
    theirs = {**revise, "kinds": ["spoc"], "reason": "A new reason", "why": "Reason reworded"}
    stale = await post_form(manager, base + "/revise", theirs, base + "/revise")
    page = await stale.text()
    assert stale.status == 409
    said = "Someone else changed this strategy while you were working on it, so nothing was saved"
    assert said in page and "It is now version 2, shown below: make your changes to it" in page
    assert "is at version" not in page
    assert "Reason reworded" in page  # the revision's own words are kept
    assert "A new reason" not in page  # the strategy is shown as it now is
    assert 'name="kinds" type="checkbox" value="recorded" checked' in page
    assert 'name="expected_version" value="2"' in page
    # Sent again from what the page now shows, with the reason changed: recording stays.
    again = await post_form(
        manager,
        base + "/revise",
        {**revise, "expected_version": "2", "reason": "A new reason", "why": "Reason reworded"},
        base + "/revise",
    )
    assert again.status == 303
    now = await services(manager).register.strategy(strategy.id)
    assert now.version == 3 and now.reason == "A new reason"
    assert "recorded" in [r.kind for r in now.restrictions]

    review = {
        "expected_version": "1",
        "outcome": "continue",
        "notes": "Reviewed with the caseworker",
        **date_fields("next_review_due", "2027-02-10"),
    }
    end = {"expected_version": "1", "why": "The matter is closed"}
    for path, form, typed in (
        ("/review", review, "Reviewed with the caseworker"),
        ("/end", end, "The matter is closed"),
    ):
        stale = await post_form(manager, base + path, form, base + path)
        page = await stale.text()
        assert stale.status == 409, path
        assert said in page and "It is now version 3: check it below" in page, path
        assert typed in page, path  # what was typed is kept
        assert 'name="expected_version" value="3"' in page, path
    ended = await post_form(manager, base + "/end", {**end, "expected_version": "3"}, base + "/end")
    assert ended.status == 303
    assert (await services(manager).register.strategy(strategy.id)).status.value == "ended"
    # Forms sent, or opened, after it has ended: back to the strategy's page, saying why.
    token = await page_csrf(manager, base)
    sent_again: list[tuple[str, dict[str, Any]]] = [
        ("/revise", revise),
        ("/review", review),
        ("/end", end),
    ]
    for path, form in sent_again:
        for sent in (
            manager.post(base + path, data={"csrf_token": token, **form}, allow_redirects=False),
            manager.get(base + path, allow_redirects=False),
        ):
            response = await sent
            assert (response.status, response.headers["Location"]) == (303, base), path
            page = await (await manager.get(base)).text()
            assert "This strategy has ended, so it cannot be changed. Nothing was saved" in page
    assert (await services(manager).register.strategy(strategy.id)).version == 4


async def test_a_review_whose_outcome_is_a_revision_is_recorded_as_one(manager: Client) -> None:
    pid = await person_id(manager, "Bea Spoc")
    [strategy] = await services(manager).register.store.strategies_of(pid)
    base = f"/strategies/{strategy.id}"
    review_page = await (await manager.get(base + "/review")).text()
    assert f"{base}/revise?review=1" in review_page
    form_page = await (await manager.get(base + "/revise?review=1")).text()
    assert 'name="as_review" value="1"' in form_page and "Review notes" in form_page
    form = {
        "as_review": "1",
        "expected_version": str(strategy.version),
        "matter_ref": strategy.matter_ref,
        "reason": strategy.reason,
        "kinds": ["spoc", "recorded"],
        "restrictions-spoc-name": "Jo Bloggs",
        "restrictions-spoc-phone": "+441772000001",
        **date_fields("review_due", "2027-02-10"),
        "why": "Calls to be recorded",
    }
    page = base + "/revise?review=1"

    no_notes = await post_form(manager, base + "/revise", form, page)
    too_late = await post_form(
        manager,
        base + "/revise",
        {**form, "review_notes": "Recording needed", **date_fields("review_due", "2027-12-01")},
        page,
    )
    done = await post_form(
        manager, base + "/revise", {**form, "review_notes": "Recording needed"}, page
    )

    assert no_notes.status == 422
    assert error_beside(await no_notes.text(), "review_notes")
    assert too_late.status == 422
    assert error_beside(await too_late.text(), "review_due")
    assert done.status == 303
    final = await services(manager).register.strategy(strategy.id)
    assert final.version == 2 and final.review_due.isoformat() == "2027-02-10"
    assert [(r.outcome, r.notes) for r in final.reviews] == [("revise", "Recording needed")]
    assert final.revisions[-1].why == "Calls to be recorded"
    assert "recorded" in [r.kind for r in final.restrictions]


async def test_the_call_log_filters_pages_and_downloads_csv(
    manager: Client, clock: FixedClock
) -> None:
    for _ in range(3):
        await inbound_call(manager, "07700 900106")  # Fay Blocked: refused
    await inbound_call(manager, "07700 900103")  # Cal Recorded: connected
    await services(manager).background.drain()
    refused = await (await manager.get("/calls?outcome=refuse")).text()
    assert "Showing 1–3 of 3 calls" in refused
    bogus = await manager.get("/calls?outcome=bogus")
    assert bogus.status == 422
    assert "Choose an outcome from the list" in await bogus.text()  # in the summary
    unknown = await manager.get("/people/per_nope")
    assert unknown.status == 404
    assert "per_nope" not in await unknown.text()  # no id shown: what to check instead
    assert "check it is correct" in await unknown.text()
    past_the_end = await (await manager.get("/calls?outcome=refuse&page=99")).text()
    assert "Showing 1–3 of 3 calls" in past_the_end  # the last page, not "2451–2450"
    connected = await (await manager.get("/calls?outcome=connect")).text()
    assert "Showing 1 call." in connected
    everything = await (await manager.get("/calls")).text()
    assert "of 4 calls" in everything
    download = await manager.get("/calls.csv?outcome=refuse")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await download.text())))
    assert len(rows) == 3 and {r["Outcome"] for r in rows} == {"Refused"}
    bad = await manager.get("/calls?since=yesterday")
    assert bad.status == 422
    assert "Enter a real date, like 15 2 2027" in error_beside(await bad.text(), "since")
    # The dates are GOV.UK date inputs (day, month, year); the filters travel on to the
    # next page and the CSV as YYYY-MM-DD.
    today = clock.now().astimezone(services(manager).tz).date()
    since = date_fields("since", today.isoformat())
    from_today = await manager.get("/calls", params=since)
    html = await from_today.text()
    assert from_today.status == 200 and "of 4 calls" in html
    assert f'name="since-day" type="text" value="{today.day}"' in html
    assert 'type="date"' not in html
    assert f"since={today.isoformat()}" in html  # the CSV's address
    linked = await (await manager.get(f"/calls?since={today.isoformat()}")).text()
    assert f'name="since-year" type="text" value="{today.year}"' in linked
    yesterday = date_fields("until", (today - timedelta(days=1)).isoformat())
    none = await manager.get("/calls", params=yesterday)
    assert none.status == 200 and "No calls match" in await none.text()
    backwards = await manager.get("/calls", params={**since, **yesterday})
    assert backwards.status == 422
    assert "on or after the start date" in error_beside(await backwards.text(), "until")
    unreal = await manager.get("/calls", params={**since, "since-day": "31", "since-month": "11"})
    assert unreal.status == 422
    unreal_html = await unreal.text()
    assert "Enter a real date, like 15 2 2027" in error_beside(unreal_html, "since")
    assert 'name="since-day" type="text" value="31"' in unreal_html  # kept as typed


async def test_a_bad_quarter_is_shown_beside_its_field(manager: Client) -> None:
    response = await manager.get("/oversight?quarter=last")
    assert response.status == 422
    assert "2026-Q4" in error_beside(await response.text(), "quarter")


async def test_the_preview_says_what_a_call_would_get(manager: Client, clock: FixedClock) -> None:
    # The date is a GOV.UK date input (day, month, year), starting as today in the office.
    form = await (await manager.get("/preview")).text()
    today = clock.now().astimezone(services(manager).tz).date()
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        assert f'name="date-{part}" type="text" value="{value}"' in form
    assert 'type="date"' not in form
    friday = date_fields("date", "2026-11-27")
    response = await post_form(
        manager, "/preview", {"phone": "07700 900101", **friday, "time": "10:00"}
    )
    html = await response.text()
    assert "The call would be refused" in html
    assert "Outside the agreed call times" in html and "call_windows.outside" not in html
    assert "You may next call on" in html
    not_real = {**friday, "date-day": "31"}
    refused = await post_form(
        manager, "/preview", {"phone": "07700 900101", **not_real, "time": "10:00"}
    )
    assert refused.status == 422
    refused_html = await refused.text()
    assert "The date of the call must be a real date, like 15 2 2027" in refused_html
    assert 'name="date-day" type="text" value="31"' in refused_html  # kept as typed
    blank = await post_form(manager, "/preview", {"phone": "07700 900101", "time": "10:00"})
    assert blank.status == 422
    assert "Enter the date of the call, like 15 2 2027" in await blank.text()


async def test_a_person_page_shows_the_chart_and_the_timeline(manager: Client) -> None:
    await inbound_call(manager, "07700 900106")
    pid = await person_id(manager, "Fay Blocked")
    html = await (await manager.get(f"/people/{pid}")).text()
    assert '<svg class="cg-chart"' in html
    assert "Refused (striped)" in html
    assert "Call refused (telephone calls blocked)" in html
    assert "Strategy CMP-2026-0145 created" in html


async def test_adding_a_person_with_a_bad_phone_shows_the_error_beside_phones(
    manager: Client,
) -> None:
    response = await post_form(
        manager, "/people/new", {"name": "Pat New", "phones": "07700 900555\nnot a phone"}
    )
    assert response.status == 422
    assert error_beside(await response.text(), "phones") == (
        "Error: The second phone number: enter a phone number, like 07700 900 982"
    )
    taken = await post_form(manager, "/people/new", {"name": "Pat New", "phones": "07700 900101"})
    assert taken.status == 409
    assert "already held" in error_beside(await taken.text(), "phones")
    added = await post_form(manager, "/people/new", {"name": "Pat New", "phones": "07700 900555"})
    assert added.status == 303


# --- issue 16: every form's errors in words ---------------------------------------------

# What no message may contain: pydantic's words, a type, a pattern, a field index, a code.
NOT_WORDS = re.compile(
    r"Field required|String should|Input should|should have|Value error|"
    r"\[\d*\]|\^|\\|\$|\(body\)|\b[a-z]+_[a-z_]+\b|"
    r"\b(int|str|float|bool|None|literal|datetime|regex|pattern)\b|"
    r"\bnumber \d\b|\b\d{4}-\d\d-\d\d\b"
)


def messages_in(html: str) -> list[str]:
    """Every error message on the page: the summary's and those beside the fields."""
    found = re.findall(r'<p id="[^"]+-error" class="govuk-error-message">(.*?)</p>', html, re.S)
    found += re.findall(r'<a href="#[^"]+">(.*?)</a>', html.split("govuk-error-summary", 1)[-1])
    cleaned = [
        html_lib.unescape(re.sub(r"<[^>]+>", "", m)).replace("Error:", "").strip() for m in found
    ]
    return [m for m in cleaned if m]


async def bad(
    client: Client, path: str, form: dict[str, Any], page: str | None = None, status: int = 422
) -> list[str]:
    response = await post_form(client, path, form, page)
    html = await response.text()
    assert response.status in (status, 400, 401, 403, 409, 422), (path, html[:500])
    found = messages_in(html)
    assert found, (path, form)
    return found


def check_words(messages: list[str]) -> None:
    for message in messages:
        assert not NOT_WORDS.search(message), message
        assert message[:1].isupper() or message[:1].isdigit(), message


@pytest.fixture
async def demo_manager(
    settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[Client]:
    async with demo_pages(settings, policy, clock, demo=True) as client:
        yield client


async def test_every_form_says_what_is_wrong_in_words(demo_manager: Client) -> None:
    client = demo_manager
    seen: list[str] = []

    # Sign-in, empty.
    seen += await bad(client, "/sign-in", {"username": "", "password": ""})
    assert (await sign_in(client, MANAGER)).status == 303

    # Add a person.
    person = await bad(client, "/people/new", {"name": " ", "phones": "12ab", "emails": "nope"})
    assert "Enter the person's name" in person
    assert "The first phone number: enter a phone number, like 07700 900 982" in person
    seen += person
    taken = await bad(client, "/people/new", {"name": "Dee Dup", "phones": "07700 900 101"})
    assert taken == ["07700 900 101 is already held by another person"] * 2
    seen += taken
    added = await post_form(
        client,
        "/people/new",
        {"name": "Pat Brackets", "phones": "(01772) 533 587\n(07700) 900-123"},
    )
    assert added.status == 303, messages_in(await added.text())

    # Create a strategy: nothing at all, then every restriction wrong.
    empty = await bad(client, "/strategies/new", {"person_id": "", **date_fields("review_due", "")})
    assert "Enter the date the review is due, like 15 2 2027" in empty
    assert "Choose at least one restriction" in empty
    seen += empty
    pid = await person_id(client, "Cal Recorded")
    wrong = await bad(
        client,
        "/strategies/new",
        {
            "person_id": pid,
            "matter_ref": "CMP-1",
            "reason": "Calls",
            "kinds": ["call_windows", "spoc", "written_only", "advocate_only"],
            "restrictions-call_windows-windows-0-start": "9",
            "restrictions-call_windows-windows-0-end": "25:00",
            "restrictions-call_windows-max_calls": "lots",
            "restrictions-call_windows-per": "",
            "restrictions-spoc-name": "",
            "restrictions-spoc-phone": "abc",
            "restrictions-advocate_phones": "",
            "restrictions-advocate_only-advocate_phones": "x1",
            **date_fields("review_due", "2020-01-01"),
        },
    )
    assert "Enter a time, like 9:30am or 14:00" in wrong
    assert "Choose at least one day for the window" in wrong
    assert "Enter an email address or a postal address to write to, or both" in wrong
    seen += wrong
    # Times as people write them are accepted.
    fine_times = await post_form(
        client,
        "/strategies/new",
        strategy_form(
            pid,
            **{
                "restrictions-call_windows-windows-0-start": "9:30am",
                "restrictions-call_windows-windows-0-end": "2pm",
            },
        ),
    )
    assert fine_times.status == 303, messages_in(await fine_times.text())

    # Revise, review and end.
    [strategy] = await services(client).register.store.strategies_of(
        await person_id(client, "Bea Spoc")
    )
    base = f"/strategies/{strategy.id}"
    seen += await bad(
        client,
        base + "/revise",
        {
            "expected_version": str(strategy.version),
            "matter_ref": strategy.matter_ref,
            "reason": strategy.reason,
            "kinds": ["spoc"],
            "restrictions-spoc-name": "Jo Bloggs",
            "restrictions-spoc-phone": "+441772000001",
            **date_fields("review_due", "2099-01-01"),
            **date_fields("notified_on", "2099-01-01"),
        },
        base + "/revise",
    )
    rules = await bad(
        client,
        base + "/revise",
        {
            "expected_version": str(strategy.version),
            "matter_ref": strategy.matter_ref,
            "reason": strategy.reason,
            "kinds": ["spoc"],
            "restrictions-spoc-name": "Jo Bloggs",
            "restrictions-spoc-phone": "+441772000001",
            **date_fields("review_due", "2099-01-01"),
            **date_fields("notified_on", "2099-01-01"),
            "why": "A later review",
        },
        base + "/revise",
    )
    assert (
        "The date the review is due must be on or before 27 February 2027, at most 3 months away"
        in rules
    )
    assert "The date the person was told must be today or in the past" in rules
    seen += rules
    review = await bad(
        client,
        base + "/review",
        {"expected_version": str(strategy.version), "outcome": "continue", "notes": "Needed"},
        base + "/review",
    )
    assert "Enter the date of the next review, like 15 2 2027" in review
    seen += review
    seen += await bad(
        client,
        base + "/review",
        {"expected_version": str(strategy.version), "outcome": "", "notes": ""},
        base + "/review",
    )
    seen += await bad(
        client, base + "/end", {"expected_version": str(strategy.version), "why": ""}, base + "/end"
    )

    # The preview and the call log's filters.
    seen += await bad(
        client, "/preview", {"phone": "abc", "date-day": "x", "date-month": "2", "time": "9"}
    )
    calls = await client.get("/calls?since=yesterday&until=x")
    seen += messages_in(await calls.text())

    check_words(seen)


async def test_the_file_note_and_user_admin_say_what_is_wrong_in_words(
    demo_manager: Client,
) -> None:
    client = demo_manager
    seen: list[str] = []
    await sign_in(client, STAFF)
    token = await page_csrf(client, "/console")
    await client.post(
        "/demo/simulate", data={"csrf_token": token, "caller": "07700 900103", "back": "/console"}
    )
    [sid] = await services(client).calls.live_sids()
    for control in ("warning", "end"):
        await client.post(
            f"/console/calls/{sid}/{control}", data={"csrf_token": token, "reason": "verbal_abuse"}
        )
    record = await services(client).calls.get(sid)
    assert record is not None and record.file_note_id
    note = f"/notes/{record.file_note_id}"
    seen += await bad(client, note, {"action": "complete"})
    seen += await bad(client, note + "/addenda", {"addendum": ""}, note)
    too_long = await bad(client, note + "/addenda", {"addendum": "x" * 4001}, note)
    assert "The addendum must be 4,000 characters or fewer" in too_long
    seen += too_long
    await client.post("/sign-out", data={"csrf_token": await page_csrf(client, "/console")})

    assert (await sign_in(client, ADMIN)).status == 303
    users = "/admin/users"
    seen += await bad(
        client,
        users,
        {"name": "bad name!", "password": "short", "role": "", "line_manager": "nobody"},
    )
    seen += await bad(client, users, {"name": "", "password": "", "role": "boss"})
    seen += await bad(
        client,
        f"/admin/users/{MANAGER}",
        {"role": "manager", "line_manager": MANAGER, "email": ""},
    )
    seen += await bad(
        client, f"/admin/users/{MANAGER}/password", {"password": "x"}, f"/admin/users/{MANAGER}"
    )
    check_words(seen)


# --- issue 16: words, not codes; one date style -----------------------------------------

ISO_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b|\b\d{4}-W\d\d\b")
CODES = re.compile(r"call_windows\.|\bphone_blocked\b|\bno_response\b|\bdivert_spoc\b")


def visible_text(html: str) -> str:
    body = html.split("<main", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", body, flags=re.S)
    body = re.sub(r'<input[^>]*type="hidden"[^>]*>', "", body)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


async def test_pages_use_words_and_one_date_style(demo_manager: Client, clock: FixedClock) -> None:
    client = demo_manager
    await sign_in(client, STAFF)
    token = await page_csrf(client, "/console")
    await client.post(
        "/demo/simulate", data={"csrf_token": token, "caller": "07700 900103", "back": "/console"}
    )
    await client.post(
        "/demo/simulate", data={"csrf_token": token, "caller": "07700 900106", "back": "/console"}
    )
    [sid] = await services(client).calls.live_sids()
    for control in ("warning", "end"):
        await client.post(
            f"/console/calls/{sid}/{control}", data={"csrf_token": token, "reason": "verbal_abuse"}
        )
    record = await services(client).calls.get(sid)
    assert record is not None and record.file_note_id
    note = f"/notes/{record.file_note_id}"
    done = await post_form(
        client,
        note,
        {
            "action": "complete",
            "summary": "Shouted.",
            "why_ended": "Went on after a warning.",
            "actions_taken": "None.",
            "line_manager_informed": "yes",
        },
    )
    assert done.status == 303
    await client.post("/sign-out", data={"csrf_token": await page_csrf(client, "/console")})
    await sign_in(client, MANAGER)
    await services(client).background.drain()

    overview = visible_text(await (await client.get("/manage")).text())
    assert "1 completed note waits for sign-off" in overview
    assert "1 file note to sign off" in overview

    welfare = visible_text(await (await client.get("/welfare")).text())
    assert "Week beginning 23 November 2026" in welfare
    assert "None" not in welfare

    calls = await client.get("/calls")
    text = visible_text(await calls.text())
    assert "Telephone calls blocked" in text
    assert "27 November 2026 at 10am" in text
    call = visible_text(await (await client.get(f"/calls/{sid}")).text())
    assert "Call from 07700 900103" in call and "Verbal abuse" in call
    assert call.count(sid) == 1  # once, as the Twilio call reference, never as a title

    oversight = visible_text(await (await client.get("/oversight")).text())
    assert "A single point of contact (SPOC) takes the calls" in oversight

    pid = await person_id(client, "Bea Spoc")
    [strategy] = await services(client).register.store.strategies_of(pid)
    pages = [
        "/oversight",
        "/manage",
        "/welfare",
        "/calls",
        "/notes",
        "/reviews",
        "/people",
        f"/people/{pid}",
        f"/strategies/{strategy.id}",
        f"/strategies/{strategy.id}/review",
        f"/calls/{sid}",
        note,
        "/console",
    ]
    for path in pages:
        text = visible_text(await (await client.get(path)).text())
        assert not ISO_DATE.search(text), (path, ISO_DATE.findall(text))
        assert not CODES.search(text), (path, CODES.findall(text))
        assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d", text), path
        assert "1 completed notes" not in text and "1 reviews" not in text
        assert record.file_note_id not in text or path == note, path


async def test_strategy_dates_are_day_month_and_year(manager: Client, clock: FixedClock) -> None:
    """The review date and the date told, on the create, revise and review forms, are GOV.UK
    date inputs: filled with the date to start from, refused beside the field when not a
    real date (what was typed kept, nothing stored), stored when they are."""
    today = clock.now().date()
    latest = add_months(today, 3)
    new_form = await (await manager.get("/strategies/new")).text()
    assert 'type="date"' not in new_form
    for part, value in date_fields("review_due", latest.isoformat()).items():
        assert f'name="{part}" type="text" value="{value}"' in new_form
    assert 'name="notified_on-day" type="text" value=""' in new_form

    pid = await person_id(manager, "Cal Recorded")
    form = {
        "person_id": pid,
        "matter_ref": "CMP-2026-1234",
        "reason": "Calls to several staff",
        "kinds": ["recorded"],
        **date_fields("review_due", "2027-01-20"),
        "notified_on-day": "31",
        "notified_on-month": "9",
        "notified_on-year": "2026",
    }
    refused = await post_form(manager, "/strategies/new", form)
    assert refused.status == 422
    html = await refused.text()
    assert error_beside(html, "notified_on") == (
        "Error: The date the person was told must be a real date, like 15 2 2027"
    )
    assert 'name="notified_on-day" type="text" value="31"' in html
    assert 'name="review_due-day" type="text" value="20"' in html
    # Digits that are not 0 to 9 (a superscript two, an Arabic-Indic three) are not a date.
    for odd in ("²", "٣"):
        strange = await post_form(manager, "/strategies/new", {**form, "notified_on-day": odd})
        assert strange.status == 422
        assert "must be a real date" in error_beside(await strange.text(), "notified_on")
    before = await services(manager).register.store.strategies_of(pid)
    created = await post_form(manager, "/strategies/new", {**form, "notified_on-day": "30"})  # 30 9
    assert created.status == 303, await created.text()
    [strategy] = [
        s for s in await services(manager).register.store.strategies_of(pid) if s not in before
    ]
    assert (strategy.review_due, strategy.notified_on) == (date(2027, 1, 20), date(2026, 9, 30))

    base = f"/strategies/{strategy.id}"
    revise_form = await (await manager.get(base + "/revise")).text()
    assert 'name="review_due-month" type="text" value="1"' in revise_form
    assert 'type="date"' not in revise_form

    review_form = await (await manager.get(base + "/review")).text()
    assert 'type="date"' not in review_form
    for part, value in date_fields("next_review_due", latest.isoformat()).items():
        assert f'name="{part}" type="text" value="{value}"' in review_form
    review = {"expected_version": "1", "outcome": "continue", "notes": "Still needed"}
    not_real = {
        **review,
        **date_fields("next_review_due", "2027-02-10"),
        "next_review_due-day": "30",
    }
    wrong = await post_form(manager, base + "/review", not_real, base + "/review")
    assert wrong.status == 422
    assert "must be a real date" in error_beside(await wrong.text(), "next_review_due")
    assert (await services(manager).register.strategy(strategy.id)).version == 1
    reviewed = await post_form(
        manager,
        base + "/review",
        {**review, **date_fields("next_review_due", "2027-02-10")},
        base + "/review",
    )
    assert reviewed.status == 303
    assert (await services(manager).register.strategy(strategy.id)).review_due == date(2027, 2, 10)


async def test_a_person_page_lists_their_completed_file_notes_and_no_one_elses(
    manager: Client, clock: FixedClock
) -> None:
    """Read from the person's own list of notes (layout 3), not from every note."""
    fay, cal = await person_id(manager, "Fay Blocked"), await person_id(manager, "Cal Recorded")
    store = services(manager).notes.store
    entry = AuditEntry(at=clock.now(), who="t", role="staff", action="file_note.create", target="n")
    done = {"completed_at": clock.now(), "completed_by": "sam.staff", "status": "completed"}
    for note_id, pid in (("note_fay", fay), ("note_cal", cal), ("note_draft", fay)):
        note = file_note(note_id, pid, clock.now())
        await store.create(note if note_id == "note_draft" else note.model_copy(update=done), entry)
    html = await (await manager.get(f"/people/{fay}")).text()
    assert html.count("File note completed") == 1
    assert 'href="/notes/note_fay"' in html and "/notes/note_cal" not in html


async def test_pages_name_staff_by_their_full_names(manager: Client, clock: FixedClock) -> None:
    """Staff appear by their full names (set by an administrator); someone with no account
    now (they have left, say) by the user name the record holds."""
    register = services(manager).register
    pid = await person_id(manager, "Cal Recorded")
    body = StrategyIn.model_validate(
        {
            "person_id": pid,
            "matter_ref": "CMP-2026-4321",
            "reason": "Calls to several staff",
            "restrictions": [{"kind": "recorded"}],
            "review_due": "2027-01-20",
        }
    )
    made = {}
    for name in (MANAGER, "former.staff"):
        actor = Actor(name=name, role=Role.manager)
        made[name] = await register.create_strategy(body, actor, clock.now())
    by_manager = await (await manager.get(f"/strategies/{made[MANAGER].id}")).text()
    by_leaver = await (await manager.get(f"/strategies/{made['former.staff'].id}")).text()
    assert f"by {FULL_NAME[MANAGER]}" in by_manager and f"by {MANAGER}" not in by_manager
    assert f"Signed in as <strong>{FULL_NAME[MANAGER]}</strong>" in by_manager
    assert "by former.staff" in by_leaver


def section(html: str, heading: str) -> str:
    """The register page from the heading starting ``heading`` to the next heading."""
    start = html.index(f">{heading} (")
    following = html.find('<h2 class="govuk-heading-m"', start)
    return html[start : following if following >= 0 else len(html)]


async def test_a_search_applies_to_every_section_of_the_register(manager: Client) -> None:
    """Ida Waiting's strategy awaits notice (the demo): a search that does not match her
    leaves her out of 'Awaiting notice' as it does out of the strategies and the people."""
    everyone = await (await manager.get("/people")).text()
    assert "Ida Waiting" in section(everyone, "Awaiting notice")
    assert 'id="search-summary"' not in everyone

    html = await (await manager.get("/people?q=zzz")).text()
    assert "Ida Waiting" not in html
    assert "Awaiting notice (0)" in html
    assert "Nothing awaiting notice matches ‘zzz’." in section(html, "Awaiting notice")
    assert "Showing what matches ‘zzz’ by name or matter reference" in html

    ida = await (await manager.get("/people?q=ida")).text()
    assert "Ida Waiting" in section(ida, "Awaiting notice")
    assert "Ida Waiting" in section(ida, "People")
    assert "Alex Window" not in ida

    # A matter reference finds its strategy, and its person among the people.
    pid = await person_id(manager, "Ida Waiting")
    [strategy] = await services(manager).register.store.strategies_of(pid)
    by_ref = await (await manager.get(f"/people?q={strategy.matter_ref.lower()}")).text()
    assert strategy.matter_ref in section(by_ref, "Awaiting notice")
    assert "Ida Waiting" in section(by_ref, "People")
    assert "Alex Window" not in by_ref


async def test_a_search_that_finds_no_one_says_so_in_words(manager: Client) -> None:
    html = await (await manager.get("/people?q=zzz")).text()
    people = section(html, "People")
    assert "No one in the register matches ‘zzz’." in people
    assert "<table" not in people and "govuk-table__header" not in people
    assert "No contact strategies match ‘zzz’." in html
    # What was typed is shown as text, never as markup.
    odd = await (await manager.get("/people?q=%3Cb%3Ezz")).text()
    assert "No one in the register matches ‘&lt;b&gt;zz’." in odd
