"""The templates: no imported macro shares a name with something a page passes in (an
import shadows the page's value: the review page once listed its restrictions with the
error-summary macro, one character a bullet), and dates in the one GOV.UK style."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import nodes

from callguard import wording

ROOT = Path(__file__).resolve().parents[2] / "callguard" / "web"
TEMPLATES = ROOT / "templates"


def _imported_names() -> dict[str, set[str]]:
    env = jinja2.Environment(autoescape=True)
    out: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in tree.find_all((nodes.FromImport, nodes.Import, nodes.Macro)):
            if isinstance(node, nodes.FromImport):
                names |= {n if isinstance(n, str) else n[1] for n in node.names}
            elif isinstance(node, nodes.Import):
                names.add(node.target)
            elif isinstance(node, nodes.Macro) and path.name != "_forms.html":
                names.add(node.name)
        out[path.name] = names
    return out


def _context_keys() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "pages").glob("*.py"):
        keys |= set(re.findall(r'^\s+"(\w+)": ', path.read_text(encoding="utf-8"), re.M))
    return keys


def test_no_template_import_or_macro_shadows_a_page_value() -> None:
    keys = _context_keys()
    assert "restriction_lines" in keys and "errors" in keys  # the scan finds them
    clashes = {
        name: sorted(imported & keys)
        for name, imported in _imported_names().items()
        if imported & keys
    }
    assert clashes == {}


def test_dates_and_times_in_the_gov_uk_style() -> None:
    london = ZoneInfo("Europe/London")
    evening = datetime(2026, 12, 4, 17, 58, tzinfo=UTC)
    assert wording.long_date(date(2026, 12, 4)) == "4 December 2026"
    assert wording.time_of_day(evening, london) == "5:58pm"
    assert wording.date_and_time(evening, london) == "4 December 2026 at 5:58pm"
    assert wording.time_of_day(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), london) == "9am"
    assert wording.time_of_day(datetime(2026, 7, 1, 11, 0, tzinfo=UTC), london) == "midday"
    assert wording.plural(1, "completed note") == "1 completed note"
    assert wording.plural(2, "completed note") == "2 completed notes"
    assert wording.week_beginning(date(2026, 11, 30)) == "week beginning 30 November 2026"


def test_how_long_in_words() -> None:
    assert [wording.duration(s) for s in (0, 1, 45, 60, 61, 125, 3600, 3725)] == [
        "0 seconds",
        "1 second",
        "45 seconds",
        "1 minute",
        "1 minute 1 second",
        "2 minutes 5 seconds",
        "1 hour",
        "1 hour 2 minutes",
    ]
