"""A request the server cannot read at all (a header longer than it reads, a body said to
be compressed that is not) is the sender's error: logged in one line at WARNING, without
what was sent; never an ERROR with a traceback (``logs.UnreadableRequests``, installed by
``logs.configure``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web

from callguard import logs
from callguard.web.form_body import FormUnreadable, posted_form

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


async def test_a_request_that_cannot_be_read_is_a_warning_in_one_line(server_log: Kept) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def form(request: web.Request) -> web.Response:
        try:
            await posted_form(request)
        except FormUnreadable:
            return web.Response(status=400, text="The form could not be read.")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    app.router.add_post("/form", form)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        sent = [
            f"GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n"
            for header in ("Authorization: Bearer " + "secretish" * 1200, "X-Long: " + "a" * 10_000)
        ]
        sent.append(  # a body said to be compressed that is not
            "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Encoding: gzip\r\n"
            "Content-Length: 11\r\n\r\nCallSid=CA1"
        )
        for request in sent:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request.encode())
            await writer.drain()
            answer = await reader.read()  # to the end: the server has done with it
            writer.close()
            assert answer.split(b" ", 2)[1] == b"400", answer[:80]
    finally:
        await runner.cleanup()
    said = [r.getMessage() for r in server_log.records]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in server_log.records)
    refused = "refused a request that could not be read"
    assert said == [
        f"{refused} (a line or header too long) from 127.0.0.1",
        f"{refused} (a line or header too long) from 127.0.0.1",
        f"{refused} (a body that could not be decoded)",
    ]
    assert not any("secretish" in line or "CallSid" in line for line in said)
    assert (
        sum(
            isinstance(f, logs.UnreadableRequests)
            for f in logging.getLogger("aiohttp.server").filters
        )
        == 1
    )
