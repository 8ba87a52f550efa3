"""The size of the reliability suite: PROCGUARD_PROFILE=ci (the default, what `make test`
runs) or soak (`make soak`). One variable for the fuzz examples and the agent kills."""

from __future__ import annotations

import os

PROFILE = os.environ.get("PROCGUARD_PROFILE", "ci")
if PROFILE not in ("ci", "soak"):
    raise SystemExit(f"PROCGUARD_PROFILE={PROFILE!r}: write ci or soak")


def size(ci: int, soak: int) -> int:
    return soak if PROFILE == "soak" else ci
