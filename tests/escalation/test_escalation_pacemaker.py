"""Pacemaker: a real single-node Corosync + Pacemaker started by the test in private mount
and network namespaces (pacemaker_node.sh); the node health attribute turns red on give-up
and green after recovery, read back with `attrd_updater -Q`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import List

import pytest

from helpers.probes import FakeLoop, configure_escalation, wait_for
from procguard.escalation.manager import EscalationManager

SBIN = "/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = ["corosync", "corosync-cfgtool", "pacemakerd", "attrd_updater", "unshare", "nsenter", "ip"]
MISSING = [t for t in TOOLS if not shutil.which(t, path=os.environ.get("PATH", "") + ":" + SBIN)]


def _why_not() -> str:
    if MISSING:
        return ("missing " + ", ".join(MISSING) +
                " (apt packages: pacemaker, corosync, util-linux, iproute2)")
    if os.geteuid() != 0:
        return "needs root: the test cluster runs in private mount and network namespaces"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-")
HERE = os.path.dirname(os.path.abspath(__file__))


def tool(name: str) -> str:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SBIN) or name


def ns_pids(pid: int) -> List[int]:
    target = os.readlink(f"/proc/{pid}/ns/net")
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/net") == target:
                    out.append(int(name))
            except OSError:
                pass
    return out


def comm(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""


def gone(pid: int) -> bool:
    """Exited: no /proc entry, or a zombie waiting for the script's `wait`."""
    try:
        data = open(f"/proc/{pid}/stat").read()
    except OSError:
        return True
    return data[data.rfind(")") + 2] == "Z"


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    work = tmp_path / "cluster"
    work.mkdir()
    proc = subprocess.Popen([tool("unshare"), "--mount", "--net", "--propagation", "private", "--",
                             "bash", os.path.join(HERE, "pacemaker_node.sh"), str(work)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    inside = [tool("nsenter"), "-t", str(proc.pid), "-m", "-n"]

    def attr_query(name: str) -> str:
        res = subprocess.run(inside + [tool("attrd_updater"), "-Q", "-n", name],
                             capture_output=True, text=True, timeout=10)
        return res.stdout.strip()

    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line == "started", f"cluster script failed: {line} {proc.stdout.read(2000)!r}"
        # The attribute manager answers once the cluster layer is up.
        wait_for(lambda: subprocess.run(inside + [tool("attrd_updater"), "-n", "procguard-test-ready",
                                                  "-U", "1"], capture_output=True, timeout=10).returncode == 0
                 and 'value="1"' in attr_query("procguard-test-ready"), 60, "pacemaker-attrd", step=0.3)
        bindir = tmp_path / "bin"
        bindir.mkdir()
        for name in ("attrd_updater", "crm_resource"):
            wrapper = bindir / name
            wrapper.write_text(f"#!/bin/sh\nexec {' '.join(inside)} {tool(name)} \"$@\"\n")
            wrapper.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
        yield attr_query
    finally:
        by_name = {comm(p): p for p in ns_pids(proc.pid)} if proc.poll() is None else {}
        for name in ("pacemakerd", "corosync"):
            pid = by_name.get(name)
            if pid:
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda pid=pid: gone(pid), 60, f"{name} to stop", step=0.2)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            for pid in ns_pids(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.wait()


def test_health_attribute_red_on_give_up_and_green_after_recovery(cluster):
    attr_query = cluster
    loop = FakeLoop()
    esc = EscalationManager(loop.post, loop.emitter, "node1")
    try:
        configure_escalation(esc, {}, {"db": [{"type": "pacemaker", "undo_after": "200ms", "timeout": "20s"}]})
        t0 = time.monotonic()
        esc.gave_up("db", {"reason": "restart budget spent"})
        loop.drain_until(lambda: esc.status("db")[0]["state"] == "in_force", 30, "attribute set")
        assert 'name="#health-procguard"' in attr_query("#health-procguard")
        assert 'value="red"' in attr_query("#health-procguard")
        took = time.monotonic() - t0
        esc.recovered("db", {})
        loop.drain_until(lambda: esc.status("db")[0]["state"] == "idle", 30, "attribute undone")
        assert 'value="green"' in attr_query("#health-procguard")
        assert loop.count("PG5002", watch="db", type="pacemaker") == 1
        assert loop.count("PG5007", watch="db", type="pacemaker") == 1
        print(f"\npacemaker: give-up -> #health-procguard=red in {took * 1000:.0f} ms")
    finally:
        esc.shutdown()
