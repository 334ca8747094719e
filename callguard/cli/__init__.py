"""The ``callguard`` command. Each group of commands is a module here with its own
``add_commands``; every command gets its settings and its Redis through
``callguard.bootstrap``, as the service does."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from callguard.cli import accounts, duties, register, running, simulate, tokens
from callguard.logs import configure as configure_logging

COMMAND_MODULES = (running, accounts, tokens, duties, register, simulate)

DESCRIPTION = (
    "CallGuard: screens inbound calls against contact strategies, beside Twilio. "
    "Run 'callguard demo' to try it with everything embedded."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callguard", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from callguard.cli.common import load_settings

    loaded = load_settings()
    configure_logging(json_lines=not isinstance(loaded, list) and loaded.log_format == "json")
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code
