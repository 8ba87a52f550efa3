"""The faults, scripted and the same for every contender. Targets are found in /proc by
the service's command line (which carries the episode's own directory), never by name."""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .plan import SERVICES
from .services import write_bad_launcher


def pids_matching(pattern: str) -> List[int]:
    regex = re.compile(pattern)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmd = handle.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd and regex.search(cmd) and proc_state(int(name)) not in ("Z", "X", ""):
            found.append(int(name))
    return sorted(found)


def proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


@dataclass
class Fault:
    name: str
    host: str
    what: str                      # one line for the report
    action: Callable[[Any, Fault], List[int]]
    hang: bool = False             # the target is stopped: time to detection is measured
    unfixable: bool = False        # restarts cannot fix it: time to drain / failover is measured

    def main_pattern(self, lab: Any) -> str:
        service = SERVICES[self.host]
        return re.escape(lab.workdir) + service.cmdline_regex()

    def worker_pattern(self, lab: Any) -> str:
        service = SERVICES[self.host]
        return re.escape(f"{lab.workdir}/hosts/{self.host}/bin/{service.role} worker ")


def _one(pids: List[int], what: str) -> int:
    if len(pids) != 1:
        raise RuntimeError(f"lab: expected one {what}, found {pids}")
    return pids[0]


def kill_main(lab: Any, fault: Fault) -> List[int]:
    pid = _one(pids_matching(fault.main_pattern(lab)), f"main process on {fault.host}")
    os.kill(pid, signal.SIGKILL)
    return [pid]


def kill_worker(lab: Any, fault: Fault) -> List[int]:
    """SIGKILL the oldest worker (lowest PID among those found): its master replaces it."""
    pids = pids_matching(fault.worker_pattern(lab))
    if not pids:
        raise RuntimeError(f"lab: no worker found on {fault.host}")
    os.kill(pids[0], signal.SIGKILL)
    return [pids[0]]


def stop_worker(lab: Any, fault: Fault) -> List[int]:
    pid = _one(pids_matching(fault.worker_pattern(lab)), f"worker on {fault.host}")
    os.kill(pid, signal.SIGSTOP)
    return [pid]


def stop_worker_for_good(lab: Any, fault: Fault) -> List[int]:
    """The worker hangs, and so will every worker started after it (a deadlock on start)."""
    with open(os.path.join(lab.workdir, "hosts", fault.host, "hang"), "w") as handle:
        handle.write("deadlock\n")
    return stop_worker(lab, fault)


def bad_binary(lab: Any, fault: Fault) -> List[int]:
    """A bad build lands and the running process dies: every restart exits 1 at once."""
    write_bad_launcher(SERVICES[fault.host].launcher(lab.workdir))
    return kill_main(lab, fault)


def pull_cable(lab: Any, fault: Fault) -> List[int]:
    lab.topology.cable(fault.host, up=False)
    return []


FAULTS: Dict[str, Callable[[str], Fault]] = {
    "kill_web_worker": lambda host: Fault("kill_web_worker", host, f"SIGKILL of one web worker on {host}",
                                          kill_worker),
    "kill_web_master": lambda host: Fault("kill_web_master", host,
                                          f"SIGKILL of the web master on {host} (its workers follow)", kill_main),
    "kill_ap_master": lambda host: Fault("kill_ap_master", host,
                                         f"SIGKILL of the AP master on {host} (its worker follows)", kill_main),
    "hang_ap": lambda host: Fault("hang_ap", host, f"SIGSTOP of the AP worker on {host}", stop_worker, hang=True),
    "bad_binary": lambda host: Fault("bad_binary", host, f"bad binary on {host}: every start exits 1", bad_binary,
                                     unfixable=True),
    "hang_for_good": lambda host: Fault("hang_for_good", host,
                                        f"SIGSTOP of the worker on {host}, and every new worker deadlocks",
                                        stop_worker_for_good, hang=True, unfixable=True),
    "dead_node": lambda host: Fault("dead_node", host, f"{host} dies (its network cable is pulled)", pull_cable,
                                    unfixable=True),
}


def gone_or_running(pids: List[int]) -> Optional[float]:
    """For a hang: the moment none of the stopped processes is stopped any more."""
    if all(proc_state(pid) not in ("T", "t") for pid in pids):
        return time.monotonic()
    return None
