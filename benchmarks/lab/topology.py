"""The lab's network: one namespace per "server", all joined by a bridge that lives in a
namespace of its own (the switch), so nothing is added to the host's network. Addresses are
in 10.215.0.0/24 and exist only inside these namespaces."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Dict, List

from .registry import Registry

SUBNET = "10.215.0"
PREFIX = 24
VIP = f"{SUBNET}.100"

# server name -> last octet of its address
HOSTS: Dict[str, int] = {
    "lb": 2, "solo": 10, "web1": 11, "web2": 12, "web3": 13,
    "ap1": 21, "ap2": 22, "node1": 31, "node2": 32,
}


def ip(*args: str, check: bool = True) -> str:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError(f"lab: ip {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


@dataclass
class Topology:
    tag: str
    registry: Registry
    hosts: List[str] = field(default_factory=lambda: list(HOSTS))

    def ns(self, host: str) -> str:
        return f"pglab-{self.tag}-{host}"

    @property
    def switch(self) -> str:
        return f"pglab-{self.tag}-sw"

    @staticmethod
    def addr(host: str) -> str:
        return f"{SUBNET}.{HOSTS[host]}"

    def create(self) -> None:
        self._netns(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for host in self.hosts:
            ns = self.ns(host)
            self._netns(ns)
            port = f"v-{host}"
            ip("link", "add", port, "netns", self.switch, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{self.addr(host)}/{PREFIX}", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def _netns(self, name: str) -> None:
        ip("netns", "add", name)
        self.registry.add("netns", name)
        ip("-n", name, "link", "set", "lo", "up")

    def exec_prefix(self, host: str) -> List[str]:
        """argv prefix that runs a program inside a server's namespace (exec, same PID)."""
        return ["ip", "netns", "exec", self.ns(host)]

    def cable(self, host: str, up: bool) -> None:
        """Pull (or put back) a server's network cable: its bridge port goes down."""
        ip("-n", self.switch, "link", "set", f"v-{host}", "up" if up else "down")

    def has_address(self, host: str, address: str) -> bool:
        return f" {address}/" in ip("-n", self.ns(host), "-o", "addr", "show", "dev", "eth0", check=False)
