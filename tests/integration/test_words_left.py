"""Codes to words (issue 16, point 7, what was left): the API's CSV names the person beside
their id, keeping every earlier column; ``callguard --help`` speaks to people, not to the
contract's sections."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from callguard.web.api_call_log import CSV_COLUMNS
from tests.conftest import auth
from tests.e2e.support import fast_passwords
from tests.helpers import create_person, inbound_call, new_call_sid, post_signed, services
from tests.processes import clean_env, run_cli

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

Client = TestClient[web.Request, web.Application]


async def test_the_api_csv_adds_person_name_after_the_earlier_columns(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"], name="Ann Caller")
    await inbound_call(client, "07700 900123")
    await inbound_call(client, "07700 900999")  # nobody in the register
    await services(client).background.drain()
    response = await client.get("/api/v1/calls.csv", headers=auth(tokens["manager"]))
    assert response.status == 200
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == [*CSV_COLUMNS, "person_name"]
    by_person = {row[CSV_COLUMNS.index("person_id")]: row[-1] for row in rows[1:]}
    assert by_person == {person["id"]: "Ann Caller", "": ""}


async def test_callguard_help_does_not_send_people_to_the_contract(tmp_path: Path) -> None:
    env = clean_env()
    for command in ([], ["demo"], ["serve"], ["simulate-call"], ["token", "create"]):
        code, out, err = await run_cli([*command, "--help"], env, tmp_path)
        assert code == 0, err
        assert "usage: callguard" in out
        assert "CONTRACT" not in out and "§" not in out, (command, out)


async def test_the_call_log_says_where_a_refused_call_stands_in_words(
    manager: Client,
) -> None:
    call_sid = new_call_sid()
    await inbound_call(manager, "07700 900106", call_sid)  # Fay Blocked: refused
    hearing = await (await manager.get(f"/calls/{call_sid}")).text()
    assert "Refused, the caller is hearing why" in hearing
    await post_signed(
        manager,
        "/webhooks/twilio/status",
        [("CallSid", call_sid), ("CallStatus", "completed"), ("CallDuration", "20")],
    )
    listing = await (await manager.get("/calls")).text()
    status_cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>\s*</tr>', listing)
    assert status_cells == ["Refused"]
    assert "Ringing" not in listing and "ringing" not in listing
