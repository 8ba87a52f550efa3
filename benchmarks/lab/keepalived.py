"""Debian's keepalived on the two cluster nodes, sharing the lab's VIP over unicast VRRP.
node1 has priority 150, node2 100; each reads a track file (weight 1) that a contender may
write: -100 there moves the VIP to node2."""

from __future__ import annotations

import os
import subprocess
from typing import Any, Dict, List

from .topology import VIP, Topology

KEEPALIVED = "/usr/sbin/keepalived"

CONF = """global_defs {{
    vrrp_version 3
    script_user root
    enable_script_security
}}
track_file pglab_service {{
    file {track}
    weight 1
}}
vrrp_instance VI_PGLAB {{
    state BACKUP
    interface eth0
    virtual_router_id 215
    priority {prio}
    advert_int 0.1
    unicast_src_ip {me}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        {vip}/24 dev eth0
    }}
    track_file {{
        pglab_service
    }}
}}
"""

NODES = ("node1", "node2")


class KeepalivedPair:
    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.procs: List[subprocess.Popen[bytes]] = []
        self.track_files: Dict[str, str] = {}

    def start(self) -> Dict[str, str]:
        for i, host in enumerate(NODES):
            home = os.path.join(self.lab.workdir, "hosts", host, "keepalived")
            os.makedirs(home, exist_ok=True)
            track = os.path.join(home, "service.weight")
            with open(track, "w") as handle:
                handle.write("0\n")
            self.track_files[host] = track
            conf = os.path.join(home, "keepalived.conf")
            with open(conf, "w") as handle:
                handle.write(CONF.format(track=track, prio=150 if i == 0 else 100, me=Topology.addr(host),
                                         peer=Topology.addr(NODES[1 - i]), vip=VIP))
            argv = [KEEPALIVED, "-n", "-l", "-D", "-f", conf, "-p", os.path.join(home, "keepalived.pid"),
                    "-r", os.path.join(home, "vrrp.pid")]
            self.procs.append(self.lab.spawn(host, argv, os.path.join(home, "keepalived.log")))
        return self.track_files

    def holder(self) -> str:
        """The node that has the VIP now ("" when none, "both" in a split brain)."""
        have = [h for h in NODES if self.lab.topology.has_address(h, VIP)]
        return "both" if len(have) > 1 else (have[0] if have else "")

    def stop(self) -> None:
        for proc in self.procs:
            self.lab.stop_process(proc)
        self.procs = []
