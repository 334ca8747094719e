"""One source per fact (issue 13): restriction kinds come from the domain's ``Restriction``
union, refusal rules from one precedence table, job periods from one table of timings,
every key a Lua script touches from ``store/keys.py``, every setting from ``Settings``.
Each check reads the code itself, so a second copy added later fails here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter
from redis.asyncio import Redis

from callguard import policy as policy_module
from callguard.bootstrap import build_duties
from callguard.domain.caller_match import REFUSAL_PRECEDENCE, WINDOW_REFUSALS, Rule
from callguard.domain.duties import JOB_TIMINGS
from callguard.domain.models import RESTRICTION_KINDS, Restriction
from callguard.policy import Policy, load_policy
from callguard.scheduler import SCHEDULE
from callguard.store.container import build_stores
from callguard.store.keys import Keys
from callguard.web import api

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[2]
CODE = sorted([*(ROOT / "callguard").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")])
POLICY_PATH = ROOT / "policies" / "lancashire-opcc.toml"

# Where each fact is defined: the module allowed to spell it out. Most refusal rules are
# named after the kind that refuses, so the rules' home names kinds too.
KINDS_HOME = {"callguard/domain/models.py", "callguard/domain/caller_match.py"}
RULES_HOME = {"callguard/domain/caller_match.py"}


# The staff pages' form still lists the kinds; the page-fixes branch derives it from
# RESTRICTION_KINDS (web/pages is theirs to edit). Drop this entry once that is merged.
def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _strings(node: ast.AST) -> set[str]:
    return {
        item.value
        for item in ast.iter_child_nodes(node)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }


def spelled_out(source: str, facts: tuple[str, ...], *, at_least: int = 3) -> list[int]:
    """Lines where a tuple, list or set literal names ``at_least`` of ``facts``: a copy."""
    wanted = set(facts)
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Tuple | ast.List | ast.Set)
        and len(_strings(node) & wanted) >= at_least
    ]


def copies(facts: tuple[str, ...], allowed: set[str]) -> list[str]:
    found = []
    for path in CODE:
        name = _relative(path)
        if name in allowed:
            continue
        found += [f"{name}:{line}" for line in spelled_out(path.read_text(), facts)]
    return found


# --- restriction kinds ---------------------------------------------------------------------


def test_the_kinds_are_the_tags_of_the_restriction_union() -> None:
    schema = TypeAdapter(Restriction).json_schema()
    assert set(RESTRICTION_KINDS) == set(schema["discriminator"]["mapping"])
    assert len(RESTRICTION_KINDS) == len(set(RESTRICTION_KINDS))


def test_the_policy_and_the_api_use_the_domain_kinds() -> None:
    assert vars(policy_module)["RESTRICTION_KINDS"] is RESTRICTION_KINDS  # imported, not copied
    assert frozenset(RESTRICTION_KINDS) == api._UNION_TAGS


def test_no_other_module_spells_out_the_kinds() -> None:
    assert copies(RESTRICTION_KINDS, KINDS_HOME) == []


def test_the_copy_check_finds_a_copy() -> None:
    copy = "KINDS = ('call_windows', 'spoc', 'recorded')\nOTHER = ['spoc', 'x']\n"
    assert spelled_out(copy, RESTRICTION_KINDS) == [1]


# --- refusal rules -------------------------------------------------------------------------


def test_the_policy_needs_words_for_exactly_the_refusals_of_the_precedence_table() -> None:
    assert policy_module.REFUSAL_RULES is REFUSAL_PRECEDENCE
    policy: Policy = load_policy(POLICY_PATH)
    assert set(REFUSAL_PRECEDENCE) <= set(policy.refusals)


def test_each_refusal_is_a_rule_of_a_restriction_kind() -> None:
    assert len(REFUSAL_PRECEDENCE) == len(set(REFUSAL_PRECEDENCE))
    assert set(REFUSAL_PRECEDENCE) <= set(get_args(Rule))
    for rule in REFUSAL_PRECEDENCE:
        assert rule.split(".")[0] in RESTRICTION_KINDS, rule
    assert WINDOW_REFUSALS == ("call_windows.quota", "call_windows.outside")


def test_no_other_module_spells_out_the_refusal_rules() -> None:
    assert copies(REFUSAL_PRECEDENCE, RULES_HOME) == []


# --- job periods ---------------------------------------------------------------------------


def test_the_scheduler_and_the_duties_take_their_periods_from_one_table() -> None:
    duties = build_duties(
        build_stores(Redis(), Keys()), load_policy(POLICY_PATH), ZoneInfo("Europe/London")
    )
    assert set(SCHEDULE) == set(JOB_TIMINGS) == set(duties.jobs)
    for name, timing in JOB_TIMINGS.items():
        assert duties.jobs[name].every == timing.period
        schedule = SCHEDULE[name]
        assert (schedule.daily_at, schedule.interval) == (
            (timing.daily_at, None) if timing.daily_at else (None, timing.period)
        )


# --- keys inside Lua -----------------------------------------------------------------------


def lua_sources() -> Iterator[tuple[str, str]]:
    """Every Lua script in the code: a string constant that calls ``redis.call``."""
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "redis.call" in node.value
            ):
                yield f"{_relative(path)}:{node.lineno}", node.value


def key_names(keys: Keys) -> tuple[set[str], set[str]]:
    """Every key ``keys`` makes, as (fixed names, family starts): each builder's output up
    to where its first argument goes."""
    fixed = {value for name, value in vars(keys).items() if name.isupper()}
    families = set()
    marker = "\x00"
    for name in dir(keys):
        builder = getattr(keys, name)
        if name.startswith("_") or not callable(builder) or name == "lua_families":
            continue
        arguments = builder.__code__.co_argcount - 1
        built = builder(*[marker] * arguments)
        if marker in built:
            families.add(built.split(marker)[0])
        else:
            fixed.add(built)
    return fixed, families


def keys_spelled_in(script: str, keys: Keys) -> list[str]:
    """Quoted strings in a Lua script that are, or start, a key a ``keys`` builder makes."""
    fixed, families = key_names(keys)
    literals = {a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", script)}
    return sorted(
        text
        for text in literals
        if text and (text in fixed or any(text.startswith(f) for f in families))
    )


def test_every_lua_script_is_found() -> None:
    assert len(list(lua_sources())) >= 20


def test_no_lua_script_spells_a_key_name() -> None:
    # Both with the prefix and bare (``calls:person:``), as a copy might be written.
    spelled = {
        where: found
        for where, script in lua_sources()
        if (found := keys_spelled_in(script, _unprefixed()))
        or (found := keys_spelled_in(script, Keys("cg:")))
    }
    assert spelled == {}


def _unprefixed() -> Keys:
    """Keys whose names are bare: no prefix at all (``check_prefix`` refuses an empty one)."""
    keys = Keys("cg:")
    for name, value in list(vars(keys).items()):
        if name.isupper():
            setattr(keys, name, value.removeprefix("cg:"))
    keys.prefix = ""
    return keys


def test_the_lua_check_finds_a_key_spelled_in_a_script() -> None:
    copy = "redis.call('ZADD', 'calls:person:' .. person_id, score, sid)"
    assert keys_spelled_in(copy, _unprefixed()) == ["calls:person:"]


def test_each_lua_family_is_what_its_builder_makes() -> None:
    keys = Keys("cg:{lancs}:")
    fixed, families = key_names(keys)
    for name, start in keys.lua_families().items():
        assert start in families or start in fixed, name


# --- settings ------------------------------------------------------------------------------


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for path in CODE:
        if _relative(path) == "callguard/settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                readers.append(f"{_relative(path)}:{node.lineno}")
    assert readers == []


def test_there_is_one_settings_class() -> None:
    defined = [
        f"{_relative(path)}:{node.lineno}"
        for path in CODE
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases)
    ]
    assert len(defined) == 1 and defined[0].startswith("callguard/settings.py:"), defined
