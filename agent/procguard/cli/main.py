"""`procguard` command line: each sub-command group lives in its own module."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__
from . import agent_cmd, check_cmd, control_cmd, floor_cmd, keys_cmd, messages_cmd

GROUPS = (agent_cmd, check_cmd, control_cmd, keys_cmd, floor_cmd, messages_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
