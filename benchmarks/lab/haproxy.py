"""Debian's HAProxy in the lab's client namespace, in front of the web tier and the single
server, in the two retry settings the issue names. Both run at once, each with its own
frontends, so every fault is measured under both settings in the same seconds."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Optional

HAPROXY = "/usr/sbin/haproxy"
AGENT_PORT = 9101
WEB_PORT = 8080

SETTINGS = {
    # HAProxy's own defaults: retries 3 on the same server, no redispatch
    "defaults": "",
    # what operators commonly add: the last retry may go to another server
    "redispatch": "    retries 3\n    option redispatch\n",
}
FRONT_PORTS = {"defaults": {"web": 8001, "solo": 8101}, "redispatch": {"web": 8002, "solo": 8102}}


@dataclass
class Backend:
    name: str          # the server's name in HAProxy and in the lab
    address: str


def config(setting: str, backends: Dict[str, List[Backend]], sock: str, agent_check: bool) -> str:
    """Debian's default timeouts (connect 5 s, client/server 50 s) and HAProxy's default
    check timings (inter 2 s, fall 3, rise 2); agent-check only where procguard answers it."""
    lines = [
        "global",
        f"    stats socket {sock} mode 600 level admin",
        "    maxconn 4000",
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 50s",
        "    timeout server 50s",
        SETTINGS[setting].rstrip("\n"),
    ]
    for tier, servers in backends.items():
        lines += [f"frontend fe_{tier}", f"    bind :{FRONT_PORTS[setting][tier]}", f"    default_backend {tier}",
                  f"backend {tier}", "    balance roundrobin", "    option httpchk GET /health"]
        for server in servers:
            opts = "check"
            if agent_check:
                opts += (f" agent-check agent-addr {server.address} agent-port {AGENT_PORT}"
                         " agent-inter 500ms")
            lines.append(f"    server {server.name} {server.address}:{WEB_PORT} {opts}")
    return "\n".join(line for line in lines if line) + "\n"


class HAProxy:
    def __init__(self, setting: str, workdir: str, exec_prefix: List[str], sock: str) -> None:
        self.setting = setting
        self.dir = os.path.join(workdir, f"haproxy-{setting}")
        os.makedirs(self.dir, exist_ok=True)
        self.sock = sock          # short: HAProxy allows 97 characters
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.exec_prefix = exec_prefix
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def start(self, backends: Dict[str, List[Backend]], agent_check: bool) -> subprocess.Popen[bytes]:
        with open(self.cfg, "w") as handle:
            handle.write(config(self.setting, backends, self.sock, agent_check))
        check = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"lab: haproxy -c refused {self.cfg}: {check.stderr.strip()}")
        with open(os.path.join(self.dir, "haproxy.log"), "ab") as log:
            self.proc = subprocess.Popen(self.exec_prefix + [HAPROXY, "-db", "-f", self.cfg],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        return self.proc

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass

    def status(self) -> Dict[str, Dict[str, str]]:
        """{server: {"status", "check", "check_health", "check_rise", "agent", "econ", "wretr"}} from `show stat`:
        the state ("UP", "DOWN", "DRAIN (agent)", "DOWN (agent)"... HAProxy names the
        agent-check when it caused it), the last result of HAProxy's own HTTP check and of the
        agent-check ("L7OK", "L4CON"...), and the own check's health counter."""
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(1)
                conn.connect(self.sock)
                conn.sendall(b"show stat\n")
                out = b""
                while chunk := conn.recv(65536):
                    out += chunk
        except OSError:
            return {}
        lines = out.decode().splitlines()
        if not lines:
            return {}
        head = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(head, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: {"status": r.get("status", ""), "check": r.get("check_status", ""),
                              "check_health": r.get("check_health", ""), "check_rise": r.get("check_rise", ""),
                              "agent": r.get("agent_status", ""),
                              # connections the server refused or failed, and HAProxy's retries
                              "econ": r.get("econ", ""), "wretr": r.get("wretr", "")}
                for r in rows if r.get("svname") not in ("BACKEND", "FRONTEND", None)}


def own_check_says_up(state: Dict[str, str]) -> bool:
    """HAProxy's own health check still judges the server up: its health counter is at or
    above `rise` (it falls by one per failed check; below `rise` the check takes it out)."""
    try:
        return int(state["check_health"]) >= int(state["check_rise"])
    except (KeyError, ValueError):
        return False


def is_up(state: Dict[str, str]) -> bool:
    """UP, or UP on its way down ("UP 1/3"): HAProxy still sends it traffic."""
    return state.get("status", "UP").startswith("UP")
