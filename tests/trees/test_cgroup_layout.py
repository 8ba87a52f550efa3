"""Where the agent finds its cgroups and what it writes there, without processes.

Real Debian hosts are pure cgroup v2 with every controller; this machine is hybrid (v2
without controllers beside v1 ones), so the pure-v2 path of CgroupTree is driven here
against a fake cgroupfs directory (plain files standing in for the kernel's). The hybrid
path runs for real in the live tests of this folder.
"""

from __future__ import annotations

import os

from procguard.cgroups.cgroup_tree import CgroupTree
from procguard.cgroups.choose import TreeSettings, choose, holder_unit, placement
from procguard.cgroups.mounts import Hierarchy, hierarchies
from procguard.config.loader import parse

PURE_V2_MOUNTINFO = """\
25 30 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""
PURE_V2_CGROUP = "0::/system.slice/procguard.service\n"
HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs ro,size=4096k,nr_inodes=1024,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = """\
9:name=systemd:/system.slice/procguard.service
8:pids:/system.slice/procguard.service
4:memory:/system.slice/procguard.service
1:cpu:/
0::/system.slice/procguard.service
"""


def test_a_pure_v2_host_has_one_hierarchy_and_the_agent_takes_its_units_cgroup():
    found = hierarchies(PURE_V2_MOUNTINFO, PURE_V2_CGROUP)
    assert found == [Hierarchy(2, frozenset(), "/sys/fs/cgroup", "/system.slice/procguard.service")]
    assert placement(found[0], None) == ("", True), "Delegate=yes: our own cgroup, the agent in a leaf"


def test_a_hybrid_host_tracks_in_unified_and_finds_the_v1_controllers_and_name_systemd():
    found = {(h.version, tuple(sorted(h.controllers))): h for h in hierarchies(HYBRID_MOUNTINFO, HYBRID_CGROUP)}
    assert found[(2, ())].mount == "/sys/fs/cgroup/unified"
    assert found[(1, ("memory",))].own == "/system.slice/procguard.service"
    assert found[(1, ("name=systemd",))].mount == "/sys/fs/cgroup/systemd"
    assert found[(1, ("cpu",))].own == "/"


def test_run_by_hand_or_at_the_root_the_agent_makes_procguard_and_stays_where_it_is():
    root, session = Hierarchy(2, frozenset(), "/x", "/"), Hierarchy(2, frozenset(), "/x", "/user.slice/session-2.scope")
    assert placement(root, None, "/var/lib/procguard") == ("procguard/var-lib-procguard", False)
    assert placement(session, None, "/var/lib/procguard") == ("procguard/var-lib-procguard", False)
    assert placement(Hierarchy(2, frozenset(), "/x", "/system.slice/procguard.service"), "t/1") == ("t/1", False)


def test_two_agents_on_one_host_never_share_a_watchs_cgroup():
    root = Hierarchy(2, frozenset(), "/x", "/")
    a, b = placement(root, None, "/srv/lab/web01/state"), placement(root, None, "/srv/lab/web02/state")
    assert a != b and a == ("procguard/srv-lab-web01-state", False)
    long = placement(root, None, "/" + "d" * 300)[0]
    assert len(long) < 120 and long.startswith("procguard/ddd")


def test_no_cgroup_under_the_given_root_means_process_groups_and_says_why(tmp_path):
    tree = choose(TreeSettings(fs=str(tmp_path / "absent")))
    assert tree.kind == "process-group" and "no cgroup v2 hierarchy" in tree.describe()
    assert choose(TreeSettings(mode="off")).kind == "process-group"


def fake_cgroupfs(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def read(root, rel):
    with open(os.path.join(root, rel)) as handle:
        return handle.read()


WATCH_FILES = ("cgroup.procs", "cgroup.kill", "memory.max", "memory.high", "cpu.max", "pids.max")


def test_pure_v2_enables_controllers_writes_every_limit_and_reads_usage_back(tmp_path):
    """A fake cgroupfs: this host has no v2 controllers, real Debian hosts do."""
    unit = "system.slice/procguard.service"
    files = {f"{unit}/cgroup.controllers": "cpuset cpu io memory pids\n", f"{unit}/cgroup.subtree_control": "",
             f"{unit}/cgroup.procs": "", f"{unit}/agent/cgroup.procs": ""}
    files.update({f"{unit}/watch-web/{name}": "" for name in WATCH_FILES})
    files.update({f"{unit}/watch-web/memory.current": "1048576\n", f"{unit}/watch-web/memory.peak": "2097152\n",
                  f"{unit}/watch-web/cpu.stat": "usage_usec 4200\nuser_usec 4000\n",
                  f"{unit}/watch-web/pids.current": "3\n",
                  f"{unit}/watch-web/memory.events": "low 0\nhigh 2\nmax 9\noom 1\noom_kill 1\n"})
    fake_cgroupfs(tmp_path, files)
    tree = CgroupTree(Hierarchy(2, frozenset(), str(tmp_path), "/" + unit), [], "", move_self=True)
    tree.setup()
    assert read(tmp_path, f"{unit}/agent/cgroup.procs") == str(os.getpid()), "the agent moved into its leaf"
    assert tree.v2_controllers == {"memory", "cpu", "pids"}
    config, _ = parse("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/true]}\n"
                      "    limits: {memory_max: 64M, memory_high: 32M, cpu_quota: '150%', tasks_max: 32}\n", "t.yaml")

    states = tree.configure(config.watches)["web"]

    assert read(tmp_path, f"{unit}/watch-web/memory.max") == str(64 << 20)
    assert read(tmp_path, f"{unit}/watch-web/memory.high") == str(32 << 20)
    assert read(tmp_path, f"{unit}/watch-web/cpu.max") == "150000 100000"
    assert read(tmp_path, f"{unit}/watch-web/pids.max") == "32"
    assert all(s.enforced for s in states.values()) and len(states) == 4
    assert states["cpu_quota"].via.endswith("watch-web/cpu.max")
    tree.place("web", 4242)
    assert read(tmp_path, f"{unit}/watch-web/cgroup.procs") == "4242"
    info = tree.info("web")
    assert (info.usage.memory_current, info.usage.memory_peak, info.usage.cpu_usec, info.usage.tasks) == \
        (1 << 20, 2 << 20, 4200, 3)
    assert tree.oom_kills("web") == 1
    tree.kill("web")
    assert read(tmp_path, f"{unit}/watch-web/cgroup.kill") == "1", "one write kills the whole cgroup"


def test_a_limit_taken_out_of_the_config_is_lifted(tmp_path):
    unit = "u.service"
    files = {f"{unit}/cgroup.controllers": "memory pids\n", f"{unit}/cgroup.subtree_control": "",
             f"{unit}/agent/cgroup.procs": ""}
    files.update({f"{unit}/watch-web/{name}": "" for name in WATCH_FILES})
    fake_cgroupfs(tmp_path, files)
    tree = CgroupTree(Hierarchy(2, frozenset(), str(tmp_path), "/" + unit), [], "", move_self=True)
    tree.setup()
    limited, _ = parse("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/true]}\n"
                       "    limits: {memory_max: 1G, cpu_quota: '50%'}\n", "t.yaml")
    states = tree.configure(limited.watches)["web"]
    assert not states["cpu_quota"].enforced and "no writable cpu controller" in states["cpu_quota"].reason
    plain, _ = parse("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/true]}\n", "t.yaml")
    assert tree.configure(plain.watches)["web"] == {}
    assert read(tmp_path, f"{unit}/watch-web/memory.max") == "max"


def test_under_systemd_the_watches_go_to_the_holder_unit_beside_the_agents(tmp_path):
    """procguard-watches.service running: BASE is its cgroup; its sleep goes into a leaf
    so controllers can be enabled; the agent stays alone in its own unit."""
    agent, holder = "system.slice/procguard.service", "system.slice/procguard-watches.service"
    files = {f"{agent}/cgroup.procs": str(os.getpid()), f"{holder}/cgroup.controllers": "memory pids\n",
             f"{holder}/cgroup.subtree_control": "", f"{holder}/cgroup.procs": "777\n",
             f"{holder}/holder/cgroup.procs": "", f"{agent}/watch-web/cgroup.procs": "555\n",
             f"{agent}/watch-web/cgroup.kill": ""}
    files.update({f"{holder}/watch-web/{name}": "" for name in WATCH_FILES})
    fake_cgroupfs(tmp_path, files)
    os.makedirs(tmp_path / agent / "watch-gone")
    unified = Hierarchy(2, frozenset(), str(tmp_path), "/" + agent)

    tree = choose(TreeSettings(fs=str(tmp_path)), (PURE_V2_MOUNTINFO.replace("/sys/fs/cgroup", str(tmp_path)),
                                                    PURE_V2_CGROUP))

    assert isinstance(tree, CgroupTree) and tree.holder == "procguard-watches.service"
    assert read(tmp_path, f"{holder}/holder/cgroup.procs") == "777", "the holder's sleep moved into its leaf"
    assert read(tmp_path, f"{agent}/cgroup.procs") == str(os.getpid()), "the agent did not move"
    assert tree.v2_controllers == {"memory", "pids"}
    assert "held by procguard-watches.service" in tree.describe()
    config, _ = parse("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/true]}\n", "t.yaml")
    tree.configure(config.watches)
    tree.place("web", 4242)
    assert read(tmp_path, f"{holder}/watch-web/cgroup.procs") == "4242"
    assert tree.members("web") == [4242, 555], "what still runs in the earlier layout's cgroup is the watch's"
    tree.kill("web")
    assert read(tmp_path, f"{agent}/watch-web/cgroup.kill") == "1", "a stop reaches the earlier cgroup too"
    assert not (tmp_path / agent / "watch-gone").exists(), "an empty cgroup of the earlier layout is removed"
    assert holder_unit(unified, lambda path: False) is None, "no holder running: the agent's own cgroup, as before"
    at = Hierarchy(2, frozenset(), str(tmp_path), "/system.slice/procguard@blue.service")
    assert holder_unit(at, lambda path: path.endswith("/system.slice/procguard-watches@blue.service")) == \
        "procguard-watches@blue.service", "each instance of a template unit has its own holder"
