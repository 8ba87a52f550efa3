"""The reliability suite: fuzzing, faults injected into real agents, forced PID reuse and
a soak. Each part writes its figures under .test-results/ for the summary of `make test`.

The soak (soak/) runs only when PROCGUARD_SOAK_SECONDS is set: `make test` runs it in the
background, alongside the other targets, and `make soak` for an hour.
"""

from __future__ import annotations

import os

from helpers import fuzz

collect_ignore = [] if os.environ.get("PROCGUARD_SOAK_SECONDS") else ["soak"]


def pytest_sessionfinish(session, exitstatus) -> None:
    fuzz.write_counts()
