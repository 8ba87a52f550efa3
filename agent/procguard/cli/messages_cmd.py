"""`procguard messages`: print the message catalog."""

from __future__ import annotations

import argparse

from ..events import render


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("messages", help="print the message catalog")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="as docs/messages.md")
    fmt.add_argument("--json", action="store_true", help="as JSON for tools")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print(render.as_json(), end="")
    elif args.markdown:
        print(render.markdown(), end="")
    else:
        from ..events import catalog
        for m in catalog.ALL:
            print(f"{m.id}  {m.severity:<7}  {m.text}")
    return 0
