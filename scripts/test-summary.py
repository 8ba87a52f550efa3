#!/usr/bin/env python3
"""Print the closing lines of `make test`: the pytest counts (the main run and the soak that
ran beside it), after Ansible lint and Molecule have run too (their own output reports each
scenario); then the reliability figures the suite wrote under .test-results/."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from typing import Any, Dict, Optional, Tuple

RESULTS = ".test-results"
MiB = 1024 * 1024


def counts(path: str) -> Optional[Tuple[int, int, int, int]]:
    """(passed, failed, skipped, xfailed) of a JUnit report, None when there is none.
    An xfail (a known defect, marked until it is fixed) is a skip to JUnit: told apart here."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own pytest report, not untrusted input
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    xfailed = sum(1 for s in root.iter("skipped") if s.get("type") == "pytest.xfail")
    return total - failed - skipped, failed, skipped - xfailed, xfailed


def figures(name: str) -> Optional[Dict[str, Any]]:
    try:
        with open(os.path.join(RESULTS, f"reliability-{name}.json")) as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _per_kind(values: Dict[str, int]) -> str:
    hits = [f"{kind} {n}" for kind, n in sorted(values.items()) if n]
    return f"{sum(values.values())}" + (f" ({', '.join(hits)})" if hits else "")


def reliability_line() -> str:
    parts = []
    faults = figures("faults")
    if faults is None:
        parts.append("agent kills: not run")
    else:
        parts.append(f"faults injected {faults['faults']}, duplicates {_per_kind(faults['duplicates'])}, "
                     f"lost {_per_kind(faults['lost'])}, zombies {faults['zombies']}")
    fuzz = figures("fuzz")
    parts.append("fuzz: not run" if fuzz is None else f"fuzz examples {fuzz['examples']:,} ({fuzz['profile']})")
    soak = figures("soak")
    if soak is None:
        parts.append("soak: not run")
    else:
        parts.append(f"soak {soak['seconds']}s: RSS growth {soak['rss_growth'] / MiB:+.2f} MiB, "
                     f"fd change {soak['fd_change']:+g}")
    return "reliability: " + "; ".join(parts)


def main(args: list) -> int:
    if args[:1] == ["--reliability-only"]:
        print(reliability_line())
        return 0
    path = args[0] if args else os.path.join(RESULTS, "pytest.xml")
    main_run = counts(path)
    if main_run is None:
        print(f"summary: no pytest report at {path}")
        return 1
    more = [counts(os.path.join(RESULTS, name)) for name in ("soak.xml", "lab-short.xml")]
    passed, failed, skipped, xfailed = (sum(column) for column in zip(main_run, *(m for m in more if m)))
    print(f"summary: {passed} passed, {failed} failed, {skipped} skipped, {xfailed} xfailed (known defects)")
    print(reliability_line())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
