"""Wait until every URL answers 200, from inside a lab namespace (the runner lives outside).
    python3 -m lab.probe --deadline 30 URL ...     exit 0 when all answer, 1 at the deadline"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(prog="lab.probe")
    parser.add_argument("--deadline", type=float, default=30.0)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    end = time.monotonic() + args.deadline
    pending = list(args.urls)
    while pending and time.monotonic() < end:
        pending = [u for u in pending if not answers(u)]
        if pending:
            time.sleep(0.1)
    if pending:
        print(f"lab.probe: no answer within {args.deadline:g} s from {' '.join(pending)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
