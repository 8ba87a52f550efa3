"""What runs where: the services of each lab server, the same for every contender."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List

from .topology import Topology

WEB_PORT = 8080
AP_PORT = 9000


@dataclass(frozen=True)
class Service:
    host: str          # the lab server it runs on: "web1"
    role: str          # "web" or "ap"
    port: int
    ap_host: str = ""  # the AP server a web server calls

    @property
    def unit(self) -> str:
        """The name a supervisor knows it by (watch, program, unit): the role."""
        return self.role

    def launcher(self, workdir: str) -> str:
        return os.path.join(workdir, "hosts", self.host, "bin", self.role)

    def pidfile(self, workdir: str) -> str:
        return os.path.join(workdir, "hosts", self.host, "run", f"{self.role}.pid")

    def cmdline_regex(self) -> str:
        """The main process only: an AP worker's command line goes on with `worker ...`."""
        return f"/hosts/{self.host}/bin/{self.role}$"

    def args(self, workdir: str) -> List[str]:
        args = [self.role, "--name", self.host, "--port", str(self.port), "--pidfile", self.pidfile(workdir),
                "--workers", "2" if self.role == "web" else "1"]
        if self.ap_host:
            args += ["--ap", f"{Topology.addr(self.ap_host)}:{AP_PORT}"]
        return args

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"


SERVICES: Dict[str, Service] = {
    "solo": Service("solo", "web", WEB_PORT),
    "web1": Service("web1", "web", WEB_PORT, "ap1"),
    "web2": Service("web2", "web", WEB_PORT, "ap2"),
    "web3": Service("web3", "web", WEB_PORT, "ap1"),
    "ap1": Service("ap1", "ap", AP_PORT),
    "ap2": Service("ap2", "ap", AP_PORT),
    "node1": Service("node1", "ap", AP_PORT),
    "node2": Service("node2", "ap", AP_PORT),
}

# The hosts each scenario uses; HAProxy tiers the web-facing ones belong to.
SCENARIO_HOSTS: Dict[str, List[str]] = {
    "single": ["solo"],
    "lb": ["web1", "web2", "web3", "ap1", "ap2"],
    "cluster": ["node1", "node2"],
}
TIERS: Dict[str, Dict[str, List[str]]] = {
    "single": {"solo": ["solo"]},
    "lb": {"web": ["web1", "web2", "web3"]},
    "cluster": {},
}
