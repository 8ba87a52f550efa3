"""A `systemd_unit` watch: systemd owns the unit; procguard finds its main process, watches
it through a pidfd, and restarts it with `systemctl` (config/model.py derives that start),
so there is never a second copy of the daemon started behind systemd's back."""

from __future__ import annotations

import os
from typing import List

from .children.commands import run_command
from .config.model import SERVICE_PATH
from .proc import procfs
from .proc.procfs import Identity

ACTIVE = ("active", "reloading", "activating")


def main_process(unit: str, timeout: float = 5.0) -> List[Identity]:
    """The unit's MainPID while it is active, as an identity; [] otherwise."""
    result = run_command(["systemctl", "show", "--property=MainPID", "--property=ActiveState", unit], timeout,
                         env={"PATH": SERVICE_PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": ""})
    if not result.ok:
        return []
    props = dict(line.partition("=")[::2] for line in result.output.splitlines())
    try:
        pid = int(props.get("MainPID", "0"))
    except ValueError:
        return []
    if pid <= 0 or pid == os.getpid() or props.get("ActiveState") not in ACTIVE:
        return []
    identity = procfs.identity_of(pid)
    return [identity] if identity is not None else []
