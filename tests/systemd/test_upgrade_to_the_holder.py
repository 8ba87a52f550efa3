"""An upgrade under systemd: services an agent of the earlier layout started live in
procguard.service/watch-NAME. The new agent (with the holder unit) adopts them where they
are, stops their whole tree there when asked, and starts the next process in
procguard-watches.service; the layout of the earlier release is rebuilt here from the
packaged unit without the holder, in a Debian bookworm container booting systemd."""

from __future__ import annotations

from typing import Dict, Iterator, List

import pytest

from helpers.container import CLI, Container, agent_box
from helpers.wait import wait_until

CONFIG = """\
version: 1
watches:
  - name: svc
    start: {argv: ["sleep 32001 & (sleep 32002 &); exec sleep 32000"], shell: true, ready: {alive_for: 0}}
    match: {cmdline: "^sleep 32000$"}
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Container]:
    with agent_box(CONFIG) as box:
        yield box


def status(box: Container) -> Dict:
    return box.status()


def svc(box: Container) -> Dict:
    return next((w for w in status(box).get("watches", []) if w["name"] == "svc"), {})


def sleepers(box: Container) -> List[str]:
    return [line for line in box.sh("ps -eo args=").stdout.splitlines() if line.startswith("sleep 3200")]


def cgroup_of(box: Container, pid: int) -> str:
    return box.sh(f"cat /proc/{pid}/cgroup").stdout


def test_services_of_the_earlier_layout_are_adopted_and_stopped_whole_then_move_to_the_holder(box):
    box.sh("mv /etc/systemd/system/procguard-watches.service /root/ && systemctl daemon-reload", check=True)
    box.sh("systemctl start procguard", check=True, timeout=90)
    first = wait_until(lambda: (lambda w: w if w.get("state") == "running" else None)(svc(box)), 30, interval=0.3,
                       what="svc running under the earlier layout")
    assert "procguard.service/watch-svc" in cgroup_of(box, first["pids"][0])
    wait_until(lambda: len(sleepers(box)) == 3, 10, interval=0.2, what="main, child and double-forked grandchild")

    box.sh("mv /root/procguard-watches.service /etc/systemd/system/ && systemctl daemon-reload", check=True)
    box.sh("systemctl restart procguard", check=True, timeout=90)
    adopted = wait_until(lambda: (lambda w: w if w.get("state") == "running" else None)(svc(box)), 30,
                         interval=0.3, what="svc adopted by the new agent")
    assert adopted["pids"] == first["pids"], "adopted where it runs, not restarted"
    assert box.sh("systemctl is-active procguard-watches").stdout.strip() == "active"

    box.sh(f"{CLI} restart svc", check=True, timeout=60)
    again = wait_until(lambda: (lambda w: w if w.get("state") == "running" and w["pids"] != first["pids"]
                                else None)(svc(box)), 30, interval=0.3, what="svc restarted")
    assert "procguard-watches.service/watch-svc" in cgroup_of(box, again["pids"][0])
    wait_until(lambda: len(sleepers(box)) == 3, 10, interval=0.2, what="the new tree's three sleepers")
    pids = [int(p) for p in box.sh("pgrep -x sleep").stdout.split()]
    old_tree = [p for p in pids if "procguard.service/watch-svc" in cgroup_of(box, p)]
    assert old_tree == [], "the whole earlier tree was stopped: child and double-forked grandchild too"
