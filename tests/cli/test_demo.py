"""`make demo` as the README tells a new user to run it (scripts/demo.sh, the same script):
a key, a signed config, the agent, a SIGKILL, the replacement; and nothing left running,
not even an empty cgroup directory."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import cgroups
from helpers.agent import REPO
from helpers.net import free_port
from procguard.cgroups.choose import placement


def processes_with(argument: str) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
            except OSError:
                continue
            if argument.encode() in argv and b"http.server" in argv:
                found.append(int(entry))
    return found


def test_the_demo_restarts_the_killed_service_and_leaves_nothing_running():
    port = str(free_port())
    venv = os.path.relpath(sys.prefix, REPO)
    done = subprocess.run(["scripts/demo.sh", venv], cwd=REPO, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PROCGUARD_DEMO_PORT": port, "KEEP": "0"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "a new web service runs as pid" in done.stdout
    assert " PG1005 " in done.stdout and " PG1004 " in done.stdout
    assert processes_with(port) == [], "the demo left its web service running"
    unified = cgroups.unified()  # the agent's cgroups: procguard/<its state dir>, in every hierarchy
    rel = placement(unified, None, os.path.join(REPO, ".demo", "state"))[0] if unified else ""
    assert not rel or cgroups.left_behind(rel) == [], "the demo left its agent's cgroup directories"
