"""CALLGUARD_REDIS_URL forms (single, Sentinel, Cluster) and the key prefix's rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callguard.settings import Settings, describe_validation_error
from callguard.store.connection import BadRedisUrl, RedisTarget, parse_url
from callguard.store.keys import Keys


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("redis://localhost:6379/0", RedisTarget("single")),
        ("unix:///run/redis.sock", RedisTarget("single")),
        (
            "redis-sentinel://10.0.0.1:26379,10.0.0.2,10.0.0.3:26380/callguard",
            RedisTarget(
                "sentinel",
                (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26380)),
                "callguard",
            ),
        ),
        (
            "redis-sentinel://:s%40cret@s1:26379/main/2",
            RedisTarget("sentinel", (("s1", 26379),), "main", 2, None, "s@cret"),
        ),
        (
            "redis-cluster://cg:pw@n1:7000,n2:7001",
            RedisTarget("cluster", (("n1", 7000), ("n2", 7001)), username="cg", password="pw"),
        ),
        ("redis-cluster://n1", RedisTarget("cluster", (("n1", 6379),))),
    ],
)
def test_urls_parse_to_their_topology(url: str, target: RedisTarget) -> None:
    assert parse_url(url) == target


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("localhost:6379", "must start with"),
        ("http://localhost", "unknown scheme"),
        ("redis-sentinel://s1:26379", "must name the Sentinel service"),
        ("redis-sentinel://s1:26379/main/x", "database after the service must be a number"),
        ("redis-cluster://n1:7000/0", "no database number"),
        ("redis-cluster://n1:port", "bad port"),
        ("redis-cluster://n1:7000?ssl=1", "not supported"),
        ("redis://h:notaport/0", "is not a valid redis:// URL"),
    ],
)
def test_bad_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(BadRedisUrl, match=reason):
        parse_url(url)


def test_a_cluster_without_a_hash_tag_in_the_prefix_is_a_settings_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(redis_url="redis-cluster://n1:7000")
    assert describe_validation_error(caught.value) == [
        "CALLGUARD_REDIS_KEY_PREFIX: a Redis Cluster needs a hash tag in the prefix, "
        "e.g. cg:{office}:"
    ]
    assert Settings(redis_url="redis-cluster://n1:7000", redis_key_prefix="cg:{lancs}:")


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("cg", "must end with ':'"),
        ("cg:{a}:{b}:", "only one {tag}"),
        ("cg:{a:", "braces must form one {tag}"),
        ("cg:{}:", "braces must form one {tag}"),
        ("c g:", "must be 1-64"),
    ],
)
def test_bad_prefixes_say_why(prefix: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(redis_key_prefix=prefix)
    (line,) = describe_validation_error(caught.value)
    assert line.startswith("CALLGUARD_REDIS_KEY_PREFIX: ") and reason in line


def test_each_office_has_its_own_keys_and_the_default_is_untouched() -> None:
    office = Keys("cg:{lancs}:")
    assert office.CALLS == "cg:{lancs}:calls"
    assert office.LEGAL_HOLDS == "cg:{lancs}:holds"
    assert office.person("p1") == "cg:{lancs}:person:p1"
    assert office.lua_families()["strategy"] == "cg:{lancs}:strategy:"
    default = Keys()
    assert default.CALLS == "cg:calls"
    assert default.person("p1") == "cg:person:p1"


def test_a_bad_url_with_a_password_never_repeats_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(redis_url="redis://:pa#ss-word@host:6379/0")
    (line,) = describe_validation_error(caught.value)
    assert line.startswith("CALLGUARD_REDIS_URL: is not a valid redis:// URL")
    assert "pa#ss" not in line and "ss-word" not in line
