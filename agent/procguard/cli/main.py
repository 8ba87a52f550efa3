"""`procguard` command line: each sub-command group lives in its own module."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, Optional

from .. import __version__
from . import agent_cmd, check_cmd, control_cmd, floor_cmd, keys_cmd, messages_cmd

GROUPS = (agent_cmd, check_cmd, control_cmd, keys_cmd, floor_cmd, messages_cmd)


def terminal_columns() -> int:
    """The width shutil.get_terminal_size would give: $COLUMNS, the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class Formatter(argparse.HelpFormatter):
    """argparse's own, told its width: asked for it, argparse imports shutil (bz2 and lzma
    come with it), about 450 KiB the agent would then carry for as long as it runs."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: Optional[int] = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_columns() - 2 if width is None else width)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser (and each of its sub-commands) that formats with Formatter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="procguard",
        description="Keep processes up: notice a death at once, restart by policy, escalate.",
    )
    parser.add_argument("--version", action="version", version=f"procguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
