"""What an internal error looked like: a small JSON file with the traceback, so one bug in
the agent's handling of one watch is reported once, in full, and the agent carries on.

Written to STATE_DIR/snapshots/ (mode 0600), the newest KEEP per subject kept.
"""

from __future__ import annotations

import json
import os
import time
from typing import Optional

from .fileio import write_atomically

KEEP = 20


def write_error_report(state_dir: str, subject: str, exc: BaseException) -> Optional[str]:
    """The report's path, or None when it could not be written (the event still says what)."""
    import traceback  # loaded on the first internal error only, not by every agent

    folder = os.path.join(state_dir, "snapshots")
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{now % 1:.3f}"[1:] + "Z"
    path = os.path.join(folder, f"error-{subject}@{stamp}.json")
    doc = {"subject": subject, "written_at": stamp, "error": f"{type(exc).__name__}: {exc}",
           "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__)}
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        write_atomically(path, json.dumps(doc, indent=2).encode() + b"\n", 0o600)
        mine = sorted(n for n in os.listdir(folder) if n.startswith(f"error-{subject}@"))
        for old in mine[:-KEEP]:
            os.unlink(os.path.join(folder, old))
    except OSError:
        return None
    return path
