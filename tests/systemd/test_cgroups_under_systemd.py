"""Under systemd (a Debian bookworm container booting systemd): the agent puts each watch in
its own cgroup below the holder unit procguard-watches.service, which `systemctl status
procguard-watches` shows, so an agent restart leaves nothing for systemd to warn about; a
`systemd_unit` watch restarts Debian's nginx through systemctl and never starts a second
nginx; service output reaches the journal, stderr at a higher priority; `check` warns when
a start command is also an enabled unit's; and what systemd says on an agent restart."""

from __future__ import annotations

import json
import re
from typing import Dict, Iterator

import pytest

from helpers.wait import wait_until

from helpers.container import CLI, Container, agent_box

CONFIG = """\
version: 1
watches:
  - name: svc
    start: {argv: ["sleep 31001 & (sleep 31002 &); exec sleep 31000"], shell: true, ready: {alive_for: 0}}
    match: {cmdline: "^sleep 31000$"}
  - name: talker
    start: {argv: ["echo said-on-stdout; echo said-on-stderr >&2; exec sleep 31003"], shell: true,
            ready: {alive_for: 0}}
    match: {cmdline: "^sleep 31003$"}
  - name: web
    systemd_unit: nginx.service
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Container]:
    with agent_box(CONFIG, packages=["nginx"]) as box:
        box.sh("systemctl is-enabled nginx && systemctl is-active nginx", check=True)
        box.sh("systemctl start procguard", check=True, timeout=90)
        wait_until(lambda: _running(box), 30, interval=0.3, what="every watch running")
        yield box


def status(box: Container) -> Dict:
    return box.status()


def _running(box: Container) -> bool:
    watches = status(box).get("watches", [])
    return len(watches) == 3 and all(w["state"] == "running" for w in watches)


def watch(box: Container, name: str) -> Dict:
    return next(w for w in status(box)["watches"] if w["name"] == name)


def main_pid(box: Container, unit: str) -> int:
    return int(box.sh(f"systemctl show -p MainPID --value {unit}").stdout.strip() or 0)


def cgroup_tree(box: Container, unit: str) -> str:
    """The CGroup: part of `systemctl status UNIT`, without the log lines after it."""
    text = box.sh(f"systemctl status {unit} --no-pager -l").stdout
    at = text.find("CGroup:")
    return text[at:].split("\n\n")[0] if at >= 0 else ""  # none while the unit is stopped


def test_systemctl_status_shows_each_watch_in_its_own_cgroup_of_the_holder_and_the_agent_alone(box):
    agent = cgroup_tree(box, "procguard")
    assert "watch-" not in agent and "sleep 3100" not in agent, f"the agent's unit holds only the agent:\n{agent}"
    assert f"{main_pid(box, 'procguard.service')} " in agent, agent
    tree = cgroup_tree(box, "procguard-watches")
    assert re.search(r"├─holder\n\s+│ └─(\d+) \S*sleep infinity", tree), tree
    for name in ("svc", "talker"):
        assert f"watch-{name}" in tree, tree
    svc = watch(box, "svc")
    assert svc["tree"]["kind"] == "cgroup" and svc["tree"]["cgroup"].endswith("procguard-watches.service/watch-svc")
    block = tree[tree.index("watch-svc"):]
    block = block[:block.index("watch-talker")] if "watch-talker" in block else block
    for sleeper in ("sleep 31000", "sleep 31001", "sleep 31002"):
        assert sleeper in block, f"{sleeper} (main, child, double-forked) in watch-svc:\n{tree}"
    assert status(box)["agent"]["process_tree"]["kind"] == "cgroup"


def test_a_systemd_unit_watch_restarts_nginx_through_systemctl_and_never_starts_a_second(box):
    web = watch(box, "web")
    first = main_pid(box, "nginx.service")
    assert web["pids"] == [first], "the unit's MainPID is what is watched"
    assert web["tree"] == {"kind": "systemd-unit", "unit": "nginx.service"}, "its tree is the unit's, not ours"

    box.sh(f"kill -9 {first}", check=True)

    wait_until(lambda: main_pid(box, "nginx.service") not in (0, first), 30, interval=0.3, what="nginx back")
    again = wait_until(lambda: (lambda w: w if w["pids"] and w["pids"][0] != first and w["state"] == "running"
                                else None)(watch(box, "web")), 30, interval=0.3, what="the watch on the new nginx")
    assert again["pids"] == [main_pid(box, "nginx.service")]
    nginx = [line.split(None, 1) for line in box.sh("ps -C nginx -o pid=,args=").stdout.splitlines()]
    masters = [pid for pid, args in nginx if "master process" in args]
    assert masters == [str(again["pids"][0])], "one nginx master, the one systemd started"
    for pid, _args in nginx:
        cgroup = box.sh(f"cat /proc/{pid}/cgroup").stdout
        assert re.search(r"/nginx\.service$", cgroup, re.M) and "procguard" not in cgroup, f"nginx {pid}: {cgroup}"
    log = box.sh("journalctl -u procguard --no-pager -o cat").stdout
    assert re.search(r"PG1004 process started watch=web .*argv=\"systemctl restart --no-block nginx.service\"", log)


def test_service_output_goes_to_the_journal_under_the_watch_name_stderr_at_warning(box):
    def lines():
        out = box.sh("journalctl -t talker -o json --no-pager").stdout
        return {e["MESSAGE"]: e["PRIORITY"] for e in map(json.loads, out.splitlines())}
    got = wait_until(lambda: (lambda got: got if len(got) >= 2 else None)(lines()), 20, interval=0.3,
                     what="both lines in the journal")
    assert got == {"said-on-stdout": "6", "said-on-stderr": "4"}
    assert watch(box, "talker")["output"] == {"to": "journal"}


def test_check_warns_when_a_start_command_is_also_an_enabled_units(box):
    box.put("version: 1\nwatches:\n  - name: web\n    start: {argv: [/usr/sbin/nginx, -g, 'daemon off;']}\n",
            "/var/tmp/double.yaml")
    done = box.sh(f"{CLI} check /var/tmp/double.yaml")
    assert done.returncode == 0
    assert "warning: watches[0].start.argv[0]: /usr/sbin/nginx is also started by the enabled unit nginx.service" \
        in done.stderr


def test_an_agent_restart_leaves_every_service_running_and_adopted(box):
    before = {w["name"]: w["pids"] for w in status(box)["watches"]}
    box.sh("systemctl restart procguard", check=True, timeout=90)
    wait_until(lambda: _running(box), 30, interval=0.3, what="every watch running again")
    after = {w["name"]: w["pids"] for w in status(box)["watches"]}
    assert after == before, "nothing was restarted: the new agent adopted them"


def test_no_left_over_process_warning_on_agent_restart(box):
    box.sh("systemctl restart procguard", check=True, timeout=90)
    wait_until(lambda: _running(box), 30, interval=0.3, what="every watch running again")
    restarts = box.sh("journalctl -u procguard --no-pager -o cat | grep -c 'Started procguard'").stdout.strip()
    assert int(restarts or 0) >= 2, "the agent was restarted at least once in this module"
    log = box.sh("journalctl --no-pager -o cat").stdout
    assert "left-over process" not in log


def test_the_holder_refuses_a_manual_stop_and_its_end_is_survived(box):
    """Stopping the holder would stop every service: systemd refuses it by hand. If its
    process is killed anyway, systemd ends the services with it; the agent starts them again
    in cgroups it makes again, and the holder's new process goes back into its leaf."""
    refused = box.sh("systemctl stop procguard-watches")
    assert refused.returncode != 0 and "refuse" in (refused.stderr + refused.stdout).lower()
    before = watch(box, "svc")["pids"]
    killed = main_pid(box, "procguard-watches.service")
    box.sh(f"kill -9 {killed}", check=True)
    holder = wait_until(lambda: (lambda pid: pid if pid not in (0, killed) and box.sh(
        "systemctl is-active procguard-watches").stdout.strip() == "active" else None)(
        main_pid(box, "procguard-watches.service")), 60, interval=0.3, what="the holder started again")

    def settled():
        # the agent may restart svc while systemd is still stopping the holder, and systemd
        # then ends it again: wait for svc's new process in the holder's new cgroup tree,
        # beside the holder's new sleep in its leaf
        tree, svc = cgroup_tree(box, "procguard-watches"), watch(box, "svc")
        leaf = re.search(r"├─holder\n\s+│ └─(\d+) \S*sleep infinity", tree)
        fresh = svc["state"] == "running" and svc["pids"] and svc["pids"] != before
        if leaf and int(leaf.group(1)) == holder and fresh and f"{svc['pids'][0]} sleep 31000" in tree:
            return svc
        return None

    again = wait_until(settled, 60, interval=0.3, what="svc running in the new holder, its sleep in its leaf")
    cgroup = box.sh(f"cat /proc/{again['pids'][0]}/cgroup").stdout
    assert "procguard-watches.service/watch-svc" in cgroup, cgroup


def test_every_service_taken_down_on_purpose_as_the_docs_say_and_back_with_the_agent(box):
    """docs/trees.md: stop the agent, then `systemctl kill procguard-watches`."""
    box.sh("systemctl stop procguard", check=True, timeout=60)
    box.sh("systemctl kill procguard-watches", check=True)
    wait_until(lambda: "sleep 3100" not in box.sh("ps -eo args=").stdout, 30, interval=0.3,
               what="every service of the holder gone")
    wait_until(lambda: box.sh("systemctl is-active procguard-watches").stdout.strip() == "active", 30,
               interval=0.3, what="the holder up again, empty")
    box.sh("systemctl start procguard", check=True, timeout=90)
    wait_until(lambda: _running(box), 30, interval=0.3, what="every watch running again")
    assert "procguard-watches.service/watch-svc" in box.sh(f"cat /proc/{watch(box, 'svc')['pids'][0]}/cgroup").stdout
