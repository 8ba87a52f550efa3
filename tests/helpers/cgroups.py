"""The cgroups a test agent makes: a unique path per agent, read back and removed after.

Every test agent gets `--cgroup-path procguard-test/<unique>` (tests run side by side and
must never share a watch's cgroup); afterwards everything left in it is killed and the
directories are removed, in every hierarchy the agent may have used; a directory that
cannot be removed fails the test's teardown, naming it.
"""

from __future__ import annotations

import errno
import os
import random
import signal
from typing import List, Optional

from procguard.cgroups.mounts import Hierarchy, hierarchies, read_host

from .wait import wait_until

TEST_ROOT = "procguard-test"


def unique_path(hint: str) -> str:
    return f"{TEST_ROOT}/{hint}-{os.getpid()}-{random.randrange(1 << 30):x}"


def here() -> List[Hierarchy]:
    return hierarchies(*read_host())


def unified() -> Optional[Hierarchy]:
    return next((h for h in here() if h.version == 2), None)


def directory(h: Hierarchy, rel: str) -> str:
    return h.directory(os.path.join(h.own, rel))


def watch_dir(rel: str, watch: str, controller: Optional[str] = None) -> str:
    """The cgroup of `watch` in the unified hierarchy, or in the v1 one of `controller`."""
    hs = here()
    h = next(h for h in hs if (h.version == 2 if controller is None else h.has(controller)))
    return os.path.join(directory(h, rel), f"watch-{watch}")


def pids_in(path: str) -> List[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as handle:
            return [int(x) for x in handle.read().split()]
    except FileNotFoundError:
        return []


def left_behind(rel: str) -> List[str]:
    """Every directory at or below `rel` (below this process's own cgroup) in any hierarchy."""
    found: List[str] = []
    for h in here():
        top = directory(h, rel)
        if os.path.isdir(top):
            found += [d for d, _subdirs, _files in os.walk(top)]
    return found


def remove(rel: str) -> None:
    """Kill what is left below `rel` in every hierarchy and remove the directories, deepest
    first. An AssertionError names every directory that stays (a process still inside)."""
    stuck: List[str] = []
    for h in here():
        top = directory(h, rel)
        if not os.path.isdir(top):
            continue
        dirs = [d for d, _subdirs, _files in os.walk(top)]
        for d in dirs:
            for pid in pids_in(d):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for d in dirs:
            wait_until(lambda d=d: not pids_in(d) or None, 10, what=f"{d} to empty") if pids_in(d) else None
        for d in sorted(dirs, key=len, reverse=True):
            error = _rmdir(d)
            if error:
                stuck.append(f"{d} ({error}; pids inside: {pids_in(d) or 'none'})")
        parent = os.path.dirname(top)
        if os.path.basename(parent) == TEST_ROOT:
            try:
                os.rmdir(parent)
            except OSError:
                pass  # another test's agent still uses it
    assert not stuck, "cgroup directories left behind: " + "; ".join(stuck)


def _rmdir(path: str) -> Optional[str]:
    """rmdir, retried while busy (a process that has just exited may still count); the
    error that stays, or None."""
    last: List[OSError] = []

    def done() -> bool:
        last.clear()
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            last.append(exc)
            return exc.errno != errno.EBUSY  # anything else will not change by waiting
        return True
    try:
        wait_until(done, 5, what=f"rmdir {path}")
    except AssertionError:
        pass  # still busy: reported by the caller
    return (last[0].strerror or str(last[0])) if last else None
