"""CallGuard on a real three-master Redis Cluster (``redis-server --cluster-enabled yes``,
``redis-cli --cluster create``): two offices share it, each office's keys carry its own
hash tag (``CALLGUARD_REDIS_KEY_PREFIX``), so each office sits in one slot and every
script and transaction touches one slot; decisions and quotas stay exact."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.load import RESTRICTED, Answer, call, unknown_caller
from tests.processes import run_cli
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
