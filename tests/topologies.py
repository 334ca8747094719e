"""Real Redis topologies for the scale-out tests: a three-master Redis Cluster and a
master, replica and Sentinel, each made of real ``redis-server`` processes on free loopback
ports with their data in a temporary directory."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError

from tests.processes import free_port

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
READY = "Ready to accept connections"


@dataclass
class RedisProcess:
    port: int
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)


async def _wait_for_line(process: RedisProcess, marker: str, timeout_s: float = 20) -> None:
    stdout = process.process.stdout
    assert stdout is not None
    async with asyncio.timeout(timeout_s):
        while True:
            raw = await stdout.readline()
            if not raw:
                raise AssertionError(f"redis on {process.port} exited:\n" + "".join(process.output))
            process.output.append(raw.decode(errors="replace"))
            if marker in process.output[-1]:
                return


async def _drain(process: RedisProcess) -> None:
    """Keep reading its log so the pipe never fills."""
    stdout = process.process.stdout
    assert stdout is not None
    while raw := await stdout.readline():
        process.output[-200:] = [*process.output[-199:], raw.decode(errors="replace")]


def server_command(
    port: int, directory: Path, *args: str, config: Path | None = None, durable: bool = True
) -> list[str]:
    """redis-server on loopback ``port`` with its files in ``directory``: AOF on with fsync
    always, as production, unless not ``durable`` (then Redis's default, AOF off); then
    ``args``."""
    return [
        REDIS_SERVER,
        *([str(config)] if config else []),  # a config file must come first
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""),
        *(
            ("--appendonly", "yes", "--appendfsync", "always")
            if durable
            else ("--appendonly", "no")
        ),
        *args,
    ]


@asynccontextmanager
async def redis_process(
    directory: Path, *args: str, config: Path | None = None, ready: str = READY
) -> AsyncIterator[RedisProcess]:
    """One redis-server (AOF on, fsync always, as production) until the block ends."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *server_command(port, directory, *args, config=config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    server = RedisProcess(port, process)
    drain: asyncio.Task[None] | None = None
    try:
        await _wait_for_line(server, ready)
        drain = asyncio.create_task(_drain(server))
        yield server
    finally:
        server.kill()
        async with asyncio.timeout(10):
            await process.wait()
        if drain is not None:
            await drain


def client(port: int) -> Redis:
    return Redis(host="127.0.0.1", port=port, decode_responses=True)


async def command(redis: Redis, *args: str | int) -> Any:
    """A raw command (CLUSTER, SENTINEL), which redis-py leaves untyped."""
    return await redis.execute_command(*args)  # type: ignore[no-untyped-call]


@dataclass
class Cluster:
    nodes: list[RedisProcess]

    @property
    def url(self) -> str:
        return "redis-cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    async def node_for(self, key: str) -> int:
        """The port of the master serving ``key``'s slot."""
        first = client(self.nodes[0].port)
        try:
            slot = int(await command(first, "CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in await command(first, "CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        finally:
            await first.aclose()
        raise AssertionError(f"no node serves slot {slot}")


@asynccontextmanager
async def redis_cluster(directory: Path, masters: int = 3) -> AsyncIterator[Cluster]:
    """A Redis Cluster of ``masters`` masters (no replicas), every slot covered."""
    async with AsyncExitStack() as stack:
        nodes = []
        for index in range(masters):
            bus = free_port()
            nodes.append(
                await stack.enter_async_context(
                    redis_process(
                        directory / f"node{index}",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-port",
                        str(bus),
                        "--cluster-node-timeout",
                        "2000",
                    )
                )
            )
        create = await asyncio.create_subprocess_exec(
            REDIS_CLI,
            "--cluster",
            "create",
            *(f"127.0.0.1:{n.port}" for n in nodes),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(30):
            out, _ = await create.communicate()
        assert create.returncode == 0, out.decode()
        assert "All 16384 slots covered" in out.decode(), out.decode()
        # Every node must see the whole cluster before clients are pointed at it.
        for node in nodes:
            await _until_cluster_ok(node.port, masters)
        yield Cluster(nodes)


async def _until_cluster_ok(port: int, nodes: int) -> None:
    redis = client(port)
    try:
        async with asyncio.timeout(20):
            while True:
                info = await command(redis, "CLUSTER", "INFO")
                text = info if isinstance(info, str) else str(info)
                if "cluster_state:ok" in text and f"cluster_known_nodes:{nodes}" in text:
                    return
                await asyncio.sleep(0.05)
    finally:
        await redis.aclose()


SERVICE = "callguard"


@dataclass
class SentinelSet:
    master: RedisProcess
    replica: RedisProcess
    sentinel: RedisProcess

    @property
    def url(self) -> str:
        return f"redis-sentinel://127.0.0.1:{self.sentinel.port}/{SERVICE}"

    async def master_port(self) -> int:
        redis = client(self.sentinel.port)
        try:
            host_port = await command(redis, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            return int(host_port[1])
        finally:
            await redis.aclose()

    @asynccontextmanager
    async def failover_watch(self) -> AsyncIterator[asyncio.Future[int]]:
        """A future of the new master's port, from the Sentinel's +switch-master event
        (subscribed before the block runs, so the event cannot be missed)."""
        redis = client(self.sentinel.port)
        pubsub = redis.pubsub()
        await pubsub.subscribe("+switch-master")
        switched: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    # "<name> <old ip> <old port> <new ip> <new port>"
                    switched.set_result(int(message["data"].split()[4]))
                    return

        listener = asyncio.create_task(listen())
        try:
            yield switched
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await pubsub.aclose()
            await redis.aclose()


@asynccontextmanager
async def redis_sentinel(directory: Path) -> AsyncIterator[SentinelSet]:
    """A master, one replica of it and one Sentinel watching them (quorum 1, a master
    judged down after 1 s)."""
    async with AsyncExitStack() as stack:
        master = await stack.enter_async_context(redis_process(directory / "master"))
        replica = await stack.enter_async_context(
            redis_process(
                directory / "replica",
                "--replicaof",
                "127.0.0.1",
                str(master.port),
                ready="MASTER <-> REPLICA sync: Finished with success",
            )
        )
        conf = directory / "sentinel" / "sentinel.conf"
        conf.parent.mkdir(parents=True)
        conf.write_text(
            f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        sentinel = await stack.enter_async_context(
            redis_process(
                conf.parent,
                "--sentinel",
                config=conf,
                # The Sentinel learns of the replica from the master's INFO and logs it.
                ready="+slave slave",
            )
        )
        yield SentinelSet(master, replica, sentinel)


class SyncCluster:
    """The same three-master cluster for a whole test session (``CALLGUARD_TEST_REDIS=
    cluster`` runs the suite on it): started and stopped without an event loop."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.masters = masters
        self.processes: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []

    @property
    def url(self) -> str:
        return "redis-cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> str:
        try:
            return self._start()
        except BaseException:
            self.stop()  # a failed session fixture must leave no redis-server behind
            raise

    def _start(self) -> str:
        for index in range(self.masters):
            node = self.directory / f"node{index}"
            node.mkdir(parents=True)
            port, bus = free_port(), free_port()
            with (node / "log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        server_command(
                            port,
                            node,
                            *("--cluster-enabled", "yes", "--cluster-port", str(bus)),
                            *("--cluster-config-file", "nodes.conf"),
                            durable=False,
                        ),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            self.ports.append(port)
        for port in self.ports:
            self._until(port, lambda r: r.ping())
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for port in self.ports:
            self._until(
                port,
                lambda r: "cluster_state:ok" in str(r.execute_command("CLUSTER", "INFO")),  # type: ignore[no-untyped-call]
            )
        return self.url

    def _until(self, port: int, ready: Callable[[SyncRedis], object]) -> None:
        redis = SyncRedis(host="127.0.0.1", port=port, decode_responses=True)
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    if ready(redis):
                        return
                except ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"redis on {port} not ready")
                time.sleep(0.05)  # a process starting up has no event to wait on
        finally:
            redis.close()

    def flush(self) -> None:
        for port in self.ports:
            redis = SyncRedis(host="127.0.0.1", port=port)
            redis.flushall()
            redis.close()

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)
