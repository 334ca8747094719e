"""A request the server cannot read at all (a header longer than it reads) is the sender's
error: logged in one line at WARNING, without what was sent; never an ERROR with a
traceback (``logs.UnreadableRequests``, installed by ``logs.configure``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web

from callguard import logs

pytestmark = pytest.mark.timeout(30)


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_log() -> Iterator[Kept]:
    """The ``aiohttp.server`` log as ``logs.configure`` leaves it, kept here."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server = logging.getLogger("aiohttp.server")
    filters = server.filters[:]
    logs.configure(json_lines=True)
    kept = Kept()
    server.addHandler(kept)
    try:
        yield kept
    finally:
        server.removeHandler(kept)
        server.filters[:] = filters
        root.handlers[:], root.level = handlers, level


async def test_a_header_too_long_is_a_warning_in_one_line(server_log: Kept) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        for header in ("Authorization: Bearer " + "secretish" * 1200, "X-Long: " + "a" * 10_000):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
            await writer.drain()
            answer = await reader.read()
            writer.close()
            assert answer.split(b" ", 2)[1] == b"400", answer[:80]
    finally:
        await runner.cleanup()
    assert len(server_log.records) == 2
    for record in server_log.records:
        assert record.levelno == logging.WARNING and record.exc_info is None
        said = record.getMessage()
        assert said == "refused a request that could not be read (a line or header too long): 400"
    assert (
        sum(
            isinstance(f, logs.UnreadableRequests)
            for f in logging.getLogger("aiohttp.server").filters
        )
        == 1
    )
