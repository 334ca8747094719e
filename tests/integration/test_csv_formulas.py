"""Spreadsheet formula injection (docs/security.md): in both downloads of the call log (the
API's ``calls.csv`` and the page's), a cell a person typed or a caller sent that could start
a formula begins with ``'``; numbers, phone numbers included, are left as they are."""

from __future__ import annotations

import csv
import io

import pytest

from callguard.web.api_call_log import csv_cell
from tests.conftest import auth
from tests.e2e.support import Client
from tests.helpers import create_person, create_strategy, inbound_call

pytestmark = pytest.mark.timeout(60)

NAME = '=HYPERLINK("https://evil.example","Click")'


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+447700900123", "+447700900123"),
        ("-1.5", "-1.5"),
        ("Alex Example", "Alex Example"),
        (None, ""),
    ],
)
def test_a_cell_that_could_start_a_formula_begins_with_a_quote(
    value: str | None, kept: str
) -> None:
    assert csv_cell(value) == kept


async def test_both_downloads_keep_what_people_typed_from_becoming_formulas(
    manager: Client, tokens: dict[str, str]
) -> None:
    token = tokens["manager"]
    person = await create_person(manager, token, name=NAME, phones=["+447700900555"])
    await create_strategy(manager, token, person["id"], [{"kind": "phone_blocked"}])
    await inbound_call(manager, "+447700900555")
    api = await manager.get("/api/v1/calls.csv", headers=auth(token))
    page = await manager.get("/calls.csv")
    for response in (api, page):
        assert response.status == 200, await response.text()
        rows = list(csv.reader(io.StringIO(await response.text())))
        [row] = [r for r in rows if any(cell.endswith(NAME) for cell in r)]
        assert "'" + NAME in row and NAME not in row
        assert "+447700900555" in row  # a number is not a formula
