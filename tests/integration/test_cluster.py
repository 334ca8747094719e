"""CallGuard on a real three-master Redis Cluster (``redis-server --cluster-enabled yes``,
``redis-cli --cluster create``): two offices share it, each office's keys carry its own
hash tag (``CALLGUARD_REDIS_KEY_PREFIX``), so each office sits in one slot and every
script and transaction touches one slot; decisions and quotas stay exact."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from callguard.store.launcher import EmbeddedRedis
from tests.load import RESTRICTED, Answer, call, unknown_caller
from tests.processes import get_json, run_cli, serve_env
from tests.replicas import ONE_CALL_A_MONTH, create_restricted_person, replicas
from tests.topologies import client, redis_cluster
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(180)

LANCS = "cg:{lancs}:"
CUMBRIA = "cg:{cumbria}:"
BLOCKED_PHONE = "+447700900456"


async def test_decisions_and_quotas_on_a_three_master_cluster_with_two_offices(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    async with redis_cluster(tmp_path / "cluster") as cluster:
        lancs_node = await cluster.node_for(LANCS + "x")
        cumbria_node = await cluster.node_for(CUMBRIA + "x")
        assert lancs_node != cumbria_node  # the two offices live on different masters

        async with (
            replicas(tmp_path, twilio, cluster.url, prefix=LANCS, name="lancs") as lancs,
            replicas(
                tmp_path, twilio, cluster.url, prefix=CUMBRIA, count=1, name="cumbria"
            ) as cumbria,
            aiohttp.ClientSession() as session,
        ):
            await create_restricted_person(
                lancs.bases[0], lancs.token, RESTRICTED, ONE_CALL_A_MONTH
            )
            await create_restricted_person(
                lancs.bases[1], lancs.token, BLOCKED_PHONE, {"kind": "phone_blocked"}
            )
            # 40 simultaneous calls from the person, alternating between Lancashire's two
            # replicas; a quota of one call a month admits exactly one.
            answers: list[Answer] = await asyncio.gather(
                *(call(session, lancs.bases[i % 2], RESTRICTED) for i in range(40))
            )
            blocked = await call(session, lancs.bases[1], BLOCKED_PHONE)
            stranger = await call(session, lancs.bases[0], unknown_caller())
            # Cumbria's register is its own: the same number is a stranger there.
            elsewhere = await call(session, cumbria.bases[0], RESTRICTED)
            _code, checklist, _err = await run_cli(["doctor"], lancs.env, tmp_path)

        everything = [*answers, blocked, stranger, elsewhere]
        assert [a.status for a in everything] == [200] * 43
        assert not any(a.degraded for a in everything)  # decided, not failed open
        assert sorted(a.outcome for a in answers) == ["connect"] + ["refuse"] * 39
        assert (blocked.outcome, stranger.outcome, elsewhere.outcome) == (
            "refuse",
            "connect",
            "connect",
        )

        # doctor names the topology and where this office's slot lives, and checks every
        # master's AOF.
        assert (
            "[ok]   Redis: Redis Cluster of 3 masters answers PING; this office's keys "
            f"(prefix {LANCS}, slot 11638) are on 127.0.0.1:{lancs_node}"
        ) in checklist
        assert "[ok]   Redis durability: AOF on, appendfsync always on every master" in checklist

        # Every key is under an office's tag, on that office's master, and each call
        # was recorded once.
        keys_by_node: dict[int, list[str]] = {}
        for node in cluster.nodes:
            redis = client(node.port)
            try:
                keys_by_node[node.port] = [k async for k in redis.scan_iter(count=1000)]
                if node.port == lancs_node:
                    assert await redis.zcard(LANCS + "calls") == 42
                    sids = {a.call_sid for a in [*answers, blocked, stranger]}
                    assert set(await redis.zrange(LANCS + "calls", 0, -1)) == sids
                if node.port == cumbria_node:
                    assert await redis.zrange(CUMBRIA + "calls", 0, -1) == [elsewhere.call_sid]
            finally:
                await redis.aclose()
        assert keys_by_node[lancs_node] and keys_by_node[cumbria_node]
        for port, names in keys_by_node.items():
            expected = {lancs_node: LANCS, cumbria_node: CUMBRIA}.get(port)
            assert all(expected and name.startswith(expected) for name in names), (port, names)


async def test_an_office_moves_from_one_redis_to_the_cluster_with_copy_keys(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    single = EmbeddedRedis(tmp_path / "single")
    single_url = single.start()
    try:
        async with (
            replicas(tmp_path, twilio, single_url, count=1, name="before") as before,
            aiohttp.ClientSession() as session,
        ):
            await create_restricted_person(
                before.bases[0], before.token, RESTRICTED, ONE_CALL_A_MONTH
            )
            first = await call(session, before.bases[0], RESTRICTED)
        assert (first.outcome, first.degraded) == ("connect", False)

        async with redis_cluster(tmp_path / "cluster") as cluster:
            env = {**before.env, "CALLGUARD_REDIS_URL": cluster.url}
            env["CALLGUARD_REDIS_KEY_PREFIX"] = LANCS
            code, out, err = await run_cli(["copy-keys", "--from", single_url], env, tmp_path)
            assert code == 0, err
            done = re.fullmatch(r"Copied (\d+) keys from cg: to cg:\{lancs\}: in [\d.]+ s\.\n", out)
            assert done, out
            copied = int(done[1])
            # A second copy would merge two registers: refused, nothing written.
            code, _, err = await run_cli(["copy-keys", "--from", single_url], env, tmp_path)
            assert code == 2
            assert "nothing copied: the destination already holds keys under cg:{lancs}:" in err
            # A copy that stopped part-way is finished with --resume: the same keys again.
            code, resumed, err = await run_cli(
                ["copy-keys", "--from", single_url, "--resume"], env, tmp_path
            )
            assert code == 0, err
            assert resumed.startswith(f"Copied {copied} keys")

            async with (
                replicas(
                    tmp_path, twilio, cluster.url, count=1, prefix=LANCS, name="after"
                ) as after,
                aiohttp.ClientSession() as session,
            ):
                # The same strategy, the same month's count, the same API token.
                second = await call(session, after.bases[0], RESTRICTED)
                ready, _ = await asyncio.to_thread(get_json, f"{after.bases[0]}/readyz")
                status, calls = await asyncio.to_thread(
                    get_json, f"{after.bases[0]}/api/v1/calls", before.token
                )
            lancs = client(await cluster.node_for(LANCS + "x"))
            try:
                on_cluster = len([k async for k in lancs.scan_iter(match="cg:{lancs}:*")])
            finally:
                await lancs.aclose()
    finally:
        single.stop()
    assert (second.outcome, second.degraded) == ("refuse", False)
    assert ready == 200
    assert status == 200
    items = calls["items"]
    assert isinstance(items, list)
    assert {c["call_sid"] for c in items} == {first.call_sid, second.call_sid}
    # Every key came across (the second call's writes added some since).
    assert copied > 10 and on_cluster >= copied


async def test_copy_keys_refuses_overlapping_prefixes_on_the_same_redis(tmp_path: Path) -> None:
    single = EmbeddedRedis(tmp_path / "single")
    url = single.start()
    try:
        env = serve_env(tmp_path / "data", 0)
        env.update(CALLGUARD_REDIS_URL=url, CALLGUARD_REDIS_KEY_PREFIX=LANCS)
        code, _out, err = await run_cli(["copy-keys", "--from", url], env, tmp_path)
    finally:
        single.stop()
    assert code == 2
    assert "nothing copied: cg: and cg:{lancs}: overlap on the same Redis" in err
