"""The README's "The first admin" on a fresh ``callguard serve``: its lines, run as they are
written (with this checkout's ``callguard``), make an admin who then signs in over HTTP."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.processes import free_port, running, serve_env

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "tangerine-lighthouse-1907"
BLOCK = re.compile(r"<!-- first-admin:[^>]*-->\s*```sh\n(.*?)```", re.DOTALL)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def readme_lines() -> str:
    found = BLOCK.search((ROOT / "README.md").read_text())
    assert found, "README.md has no first-admin block"
    return found.group(1)


async def run_readme(script: str, env: dict[str, str], cwd: Path, stdin: str) -> tuple[int, str]:
    # The README says .venv/bin/callguard; here it is this interpreter's CallGuard.
    here = f"{shlex.quote(sys.executable)} -m callguard.cli"
    script = script.replace(".venv/bin/callguard", here)
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        out, _ = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode()


async def sign_in(base: str, name: str, password: str) -> tuple[int, str, int]:
    """The sign-in's status and where it leads, and the status of that page."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(f"{base}/sign-in") as page:
            found = CSRF.search(await page.text())
            assert found
        form = {"username": name, "password": password, "csrf_token": found.group(1)}
        async with session.post(f"{base}/sign-in", data=form, allow_redirects=False) as done:
            location = done.headers.get("Location", "")
            status = done.status
        if status != 303:
            return status, location, 0
        async with session.get(f"{base}{location}", allow_redirects=False) as landed:
            return status, location, landed.status


async def test_the_readme_makes_the_first_admin_who_signs_in(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"
    async with running(["serve"], env, tmp_path):
        assert await sign_in(base, "admin.one", PASSWORD) == (401, "", 0)
        weak, said = await run_readme(readme_lines(), env, tmp_path, "password1234\n")
        assert weak == 1 and "Choose a less common password" in said
        code, said = await run_readme(readme_lines(), env, tmp_path, PASSWORD + "\n")
        assert code == 0, said
        assert "User admin.one created (admin)" in said and PASSWORD not in said
        assert await sign_in(base, "admin.one", PASSWORD) == (303, "/admin/users", 200)
        again, said = await run_readme(readme_lines(), env, tmp_path, PASSWORD + "\n")
        assert again == 1 and "already exists" in said
