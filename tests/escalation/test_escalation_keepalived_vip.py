"""keepalived: two real instances in network namespaces the test creates (joined by a veth
pair). The keepalived action writes the track file of the master; the VIP moves to the
backup on give-up and back after recovery."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import List

import pytest

from helpers.probes import FakeLoop, configure_escalation
from procguard.escalation.manager import EscalationManager

SBIN = "/usr/sbin:/usr/bin:/sbin:/bin"
KEEPALIVED = shutil.which("keepalived", path=os.environ.get("PATH", "") + ":" + SBIN)
IP = shutil.which("ip", path=os.environ.get("PATH", "") + ":" + SBIN)


def _why_not() -> str:
    if KEEPALIVED is None:
        return "keepalived binary not found (apt package keepalived)"
    if IP is None:
        return "ip binary not found (apt package iproute2)"
    if os.geteuid() != 0:
        return "needs root to create network namespaces and veth pairs"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-")
VIP = "10.213.7.100"


def run(*argv: str) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=10).stdout


def has_vip(ns: str, dev: str) -> bool:
    return f"{VIP}/" in run(IP, "-n", ns, "-o", "addr", "show", "dev", dev)


CONF = """
global_defs {{
    vrrp_version 3
    script_user root
    enable_script_security
}}
track_file pg_web {{
    file {track}
    weight 1
}}
vrrp_instance VI_PG {{
    state BACKUP
    interface {dev}
    virtual_router_id 77
    priority {prio}
    advert_int 0.1
    unicast_src_ip {me}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        {vip}/24 dev {dev}
    }}
    track_file {{
        pg_web
    }}
}}
"""


@pytest.fixture
def pair(tmp_path):
    tag = f"{os.getpid() % 100000}"
    ns = [f"pgka1-{tag}", f"pgka2-{tag}"]
    devs = [f"pgv1-{tag}", f"pgv2-{tag}"]
    addrs = ["10.213.7.1", "10.213.7.2"]
    procs: List[subprocess.Popen] = []
    created: List[str] = []
    try:
        for name in ns:
            run(IP, "netns", "add", name)
            created.append(name)
            run(IP, "-n", name, "link", "set", "lo", "up")
        run(IP, "link", "add", devs[0], "netns", ns[0], "type", "veth", "peer", "name", devs[1], "netns", ns[1])
        tracks = []
        for i in (0, 1):
            run(IP, "-n", ns[i], "addr", "add", f"{addrs[i]}/24", "dev", devs[i])
            run(IP, "-n", ns[i], "link", "set", devs[i], "up")
            track = tmp_path / f"ka{i + 1}.weight"
            track.write_text("0\n")
            tracks.append(track)
            conf = tmp_path / f"ka{i + 1}.conf"
            conf.write_text(CONF.format(track=track, dev=devs[i], prio=150 if i == 0 else 100,
                                        me=addrs[i], peer=addrs[1 - i], vip=VIP))
            log = open(tmp_path / f"ka{i + 1}.log", "w")
            procs.append(subprocess.Popen(
                [KEEPALIVED, "-n", "-l", "-D", "-P", "-s", ns[i], "-f", str(conf),
                 "-p", str(tmp_path / f"ka{i + 1}.pid"), "-r", str(tmp_path / f"ka{i + 1}.vrrp.pid")],
                stdout=log, stderr=subprocess.STDOUT))
        yield ns, devs, tracks[0], tmp_path
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in created:
            subprocess.run([IP, "netns", "del", name], capture_output=True)


def test_vip_moves_to_backup_on_give_up_and_back_after_recovery(pair):
    ns, devs, track, tmp_path = pair
    loop = FakeLoop()
    esc = EscalationManager(loop.post, loop.emitter, "ka1")
    try:
        configure_escalation(esc, {}, {"web": [{"type": "keepalived", "track_file": str(track), "weight": -100,
                                    "undo_after": "200ms"}]})
        loop.drain_until(lambda: has_vip(ns[0], devs[0]) and not has_vip(ns[1], devs[1]), 20,
                         "VIP on the master (priority 150)")
        t0 = time.monotonic()
        esc.gave_up("web", {"reason": "restart budget spent"})
        loop.drain_until(lambda: has_vip(ns[1], devs[1]) and not has_vip(ns[0], devs[0]), 20,
                         "VIP on the backup (150 - 100 < 100)")
        moved = time.monotonic() - t0
        assert track.read_text() == "-100\n"
        t1 = time.monotonic()
        esc.recovered("web", {})
        loop.drain_until(lambda: has_vip(ns[0], devs[0]) and not has_vip(ns[1], devs[1]), 20,
                         "VIP back on the master")
        back = time.monotonic() - t1
        assert track.read_text() == "0\n"
        print(f"\nkeepalived: give-up -> VIP on backup {moved * 1000:.0f} ms; recovery -> back {back * 1000:.0f} ms")
    finally:
        esc.shutdown()
