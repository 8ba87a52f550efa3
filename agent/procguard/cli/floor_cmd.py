"""`procguard floor`: show the rollback floor, or repair it after it was damaged."""

from __future__ import annotations

import argparse
import sys

from ..intake.floor import FloorError, RollbackFloor


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("floor", help="show or repair the rollback floor (the highest serial applied)")
    p.add_argument("--state-dir", default="/var/lib/procguard", help="state directory (default /var/lib/procguard)")
    p.add_argument("--set", type=int, metavar="SERIAL", help="write this floor (it never goes down otherwise)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    floor = RollbackFloor(args.state_dir)
    try:
        current = floor.read()
    except FloorError as exc:
        if args.set is None:
            print(f"procguard: {exc}", file=sys.stderr)
            return 1
        current = None
    if args.set is None:
        print(f"{floor.path}: floor {current if current is not None else 'none (no signed config applied yet)'}")
        return 0
    if args.set < 0:
        print("procguard: --set: a serial is zero or more", file=sys.stderr)
        return 2
    if current is not None and args.set < current:
        print(f"procguard: {floor.path}: the floor is {current}; lowering it would let older configs replay. "
              "Publish a new config with a higher serial instead", file=sys.stderr)
        return 1
    floor.write(args.set)
    print(f"{floor.path}: floor {args.set}")
    return 0
