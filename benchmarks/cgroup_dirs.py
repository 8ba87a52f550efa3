"""The cgroups a benchmark's agent makes: a path of its own, removed once its services are gone.

An agent stopped with SIGTERM leaves its watches' cgroups (a restarted agent adopts them), so
each run gives its agent `--cgroup-path procguard-bench/<run>` and, after stopping the agent
and its services, removes that path in every hierarchy, deepest first. A directory that still
holds a process is said on stderr, never skipped in silence; nothing in it is killed.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT_SRC = os.path.join(REPO, "agent")
ROOT = "procguard-bench"


def path_for(work: str) -> str:
    """The run's cgroup path (below the benchmark's own cgroup), named after its work directory."""
    return f"{ROOT}/{os.path.basename(work.rstrip('/'))}"


def remove(rel: str, patience: float = 5.0) -> List[str]:
    """Remove `rel` and everything below it, in every hierarchy; the directories that stay.
    Busy ones are retried for `patience` seconds in all (a service killed a moment ago)."""
    if AGENT_SRC not in sys.path:
        sys.path.insert(0, AGENT_SRC)
    from procguard.cgroups.cgfs import read_pids
    from procguard.cgroups.mounts import hierarchies, read_host

    deadline = time.monotonic() + patience
    stuck: List[str] = []
    for h in hierarchies(*read_host()):
        top = h.directory(os.path.join(h.own, rel.strip("/")))
        for directory, _subdirs, _files in sorted(os.walk(top), key=lambda d: -len(d[0])):
            error = _rmdir(directory, deadline)
            if error:
                stuck.append(directory)
                print(f"benchmark: cgroup {directory} stays ({error}); processes inside: "
                      f"{read_pids(os.path.join(directory, 'cgroup.procs')) or 'none'}", file=sys.stderr)
        if os.path.basename(os.path.dirname(top)) == ROOT:
            _rmdir(os.path.dirname(top), deadline=0)  # not empty while another run's agent uses it
    return stuck


def _rmdir(path: str, deadline: float) -> Optional[str]:
    while True:
        try:
            os.rmdir(path)
            return None
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                return exc.strerror or str(exc)
        time.sleep(0.05)

