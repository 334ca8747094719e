"""The locks under requirements/ are the only way dependencies get installed: the runtime
lock is the test lock's subset at the same versions, every pin carries hashes, and the
Dockerfile, scripts/test and the README install from them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    return dict(PIN.findall((ROOT / "requirements" / name).read_text(encoding="utf-8")))


def test_the_runtime_lock_is_the_test_locks_subset_at_the_same_versions() -> None:
    runtime, test = _pins("runtime.txt"), _pins("test.txt")
    assert {"aiohttp", "redis", "twilio", "pydantic", "pip", "setuptools"} <= set(runtime)
    assert {"pytest", "mypy", "ruff", "uv"} <= set(test) - set(runtime)
    assert {name: test.get(name) for name in runtime} == runtime


def test_every_pin_carries_a_hash() -> None:
    for name in ("runtime.txt", "test.txt"):
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[a-z0-9])", text.split("\n\n", 1)[-1])
        pinned = [block for block in blocks if PIN.match(block)]
        assert len(pinned) == len(_pins(name))
        assert all("--hash=sha256:" in block for block in pinned), name


def test_installs_go_through_the_locks() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps \\\n      -r /src/requirements/runtime.txt" in dockerfile
    assert "--no-deps --no-build-isolation ." in dockerfile
    test_command = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "scripts/install-locked requirements/test.txt" in test_command
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/install-locked requirements/runtime.txt" in readme
