"""The checking child's entry point: read a Request as JSON on stdin, answer the Verdict.

Only this process imports the parser and `cryptography`; the agent never does (child.py).
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any, Dict

from .decide import decide
from .verdict import Request


def main() -> int:
    raw: Dict[str, Any] = json.load(sys.stdin)
    raw["data"] = base64.b64decode(raw["data"])
    raw["sig"] = base64.b64decode(raw["sig"]) if raw.get("sig") is not None else None
    json.dump(decide(Request(**raw)).as_dict(), sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
