"""Check that the virtual environment running this script holds exactly a lock's packages.

    python scripts/lock_check.py requirements/test.txt [--remove-extra]

Compares ``pip freeze --all --exclude-editable`` (CallGuard itself is the one editable
install) with the ``name==version`` lines of the lock. With ``--remove-extra``, packages the
lock does not name are uninstalled first. Exit 1, naming each difference, if they differ.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def frozen() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return pins(out.splitlines())


def main(argv: list[str]) -> int:
    lock_path = Path(argv[0])
    locked = pins(lock_path.read_text(encoding="utf-8").splitlines())
    if "--remove-extra" in argv[1:]:
        extra = sorted(set(frozen()) - set(locked))
        if extra:
            subprocess.run(
                [sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", *extra],
                check=True,
            )
        return 0
    installed = frozen()
    problems = [
        f"{name}: locked {locked.get(name, 'not at all')}, installed {installed.get(name, 'not')}"
        for name in sorted(set(locked) | set(installed))
        if locked.get(name) != installed.get(name)
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"the venv differs from {lock_path}: run scripts/install-locked", file=sys.stderr)
        return 1
    print(f"pip freeze equals {lock_path} ({len(locked)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
