#!/usr/bin/env python3
"""Print the closing line of `make test`: the pytest counts, after Ansible lint and Molecule
have run too (their own output reports each scenario)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own pytest report, not untrusted input
    except (OSError, ET.ParseError) as exc:
        print(f"summary: no pytest report at {path} ({exc})")
        return 1
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    print(f"summary: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".test-results/pytest.xml"))
