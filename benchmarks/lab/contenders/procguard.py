"""procguard as an operator would deploy it: one agent per server with its own state
directory, control socket and a config signed by the lab's key for that host (scope), the
agent-check answered for HAProxy, and escalation on give-up (HAProxy on web servers,
keepalived's track file on cluster nodes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

from ..haproxy import AGENT_PORT
from ..plan import Service
from .base import Contender, Failover

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AGENT_SRC = os.path.join(REPO, "agent")

# Probe and restart settings, comparable in aggressiveness to what the other contenders get
# (monit: every 1 s cycle, 2 failed cycles; systemd: WatchdogSec=2s, StartLimitBurst).
HTTP_PROBE = {"type": "http", "interval": "500ms", "timeout": "500ms", "start_delay": 0, "fall": 2, "rise": 1}
RESTART = {"max_restarts": 3, "window": "30s", "backoff": {"initial": "500ms", "max": "2s"}}


def procguard(*args: str) -> List[str]:
    return [sys.executable, "-m", "procguard.cli.main", *args]


def env() -> Dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = AGENT_SRC + os.pathsep + out.get("PYTHONPATH", "")
    return out


def watch_for(service: Service, workdir: str, failover: Optional[Failover]) -> Dict[str, Any]:
    probes: List[Dict[str, Any]] = [
        {"name": "health", "url": service.health_url, **HTTP_PROBE},
        {"name": "frozen", "type": "proc_state", "max_duration": "1s", "interval": "250ms"},
    ]
    if service.role == "ap":       # the AP app speaks sd_notify: WATCHDOG=1 while its worker answers
        probes.append({"name": "watchdog", "type": "notify", "interval": "2s"})
    escalate: List[Dict[str, Any]] = []
    if service.role == "web":
        escalate.append({"type": "haproxy_agent", "state": "down", "undo_after": "2s"})
    if failover is not None and service.host in failover.track_files:
        escalate.append({"type": "keepalived", "track_file": failover.track_files[service.host],
                         "weight": failover.weight, "undo_after": "5s"})
    watch: Dict[str, Any] = {
        "name": service.unit,
        "match": {"cmdline": service.cmdline_regex()},
        "start": {"argv": [service.launcher(workdir)], "timeout": "3s", "ready": {"probe": "health"}},
        "stop": {"signal": "TERM", "timeout": "2s"},
        "restart": RESTART,
        "probes": probes,
    }
    if escalate:
        watch["on_giveup"] = {"action": "escalate", "retry_every": "30s", "escalate": escalate}
    return watch


class Procguard(Contender):
    name = "procguard"
    agent_check = True

    def __init__(self, lab: Any) -> None:
        super().__init__(lab)
        self.agents: List[subprocess.Popen[bytes]] = []
        self.sockets: List[str] = []
        self.keys = os.path.join(lab.root, "procguard-keys")
        self.serial = 0

    def available(self) -> Optional[str]:
        out = subprocess.run(procguard("--version"), env=env(), capture_output=True, text=True, timeout=60)
        self.version = (out.stdout or out.stderr).strip().splitlines()[-1] if out.returncode == 0 else ""
        if out.returncode != 0:
            return f"the agent does not run from {AGENT_SRC}: {out.stderr.strip()[-200:]}"
        return None

    def _key(self) -> str:
        key = os.path.join(self.keys, "lab.key")
        if not os.path.exists(key):
            subprocess.run(procguard("keygen", "--out", self.keys, "--name", "lab"), env=env(), check=True,
                           capture_output=True, timeout=60)
            os.makedirs(os.path.join(self.keys, "trusted"), exist_ok=True)
            os.replace(os.path.join(self.keys, "lab.pub"), os.path.join(self.keys, "trusted", "lab.pub"))
        return key

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        key = self._key()
        self.serial += 1
        for service in services:
            home = self.host_dir(service.host)
            doc: Dict[str, Any] = {"version": 1, "serial": self.serial, "scope": [service.host],
                                   "watches": [watch_for(service, self.lab.workdir, failover)]}
            if service.role == "web":
                doc["haproxy_agent"] = [{"address": "0.0.0.0", "port": AGENT_PORT, "recover_after": "2s",
                                         "servers": [{"name": service.host, "watches": [service.unit]}]}]
            config = os.path.join(home, "watches.yaml")
            with open(config, "w") as handle:
                json.dump(doc, handle, indent=1)          # JSON is YAML
            subprocess.run(procguard("sign", "--key", key, config), env=env(), check=True,
                           capture_output=True, timeout=60)
            settings = os.path.join(home, "agent.yaml")
            with open(settings, "w") as handle:
                handle.write(f"revoked: {os.path.join(home, 'revoked.txt')}\n")
            sock = self.lab.sock_path(service.host, self.name)
            argv = procguard("agent", "--config", config, "--settings", settings,
                             "--state-dir", os.path.join(home, "state"), "--socket", sock,
                             "--trusted-keys", os.path.join(self.keys, "trusted"),
                             "--host-name", service.host, "--syslog-socket", "", "--monotonic-stamps")
            self.agents.append(self.lab.spawn(service.host, argv, os.path.join(home, "agent.stderr"), env=env()))
            self.sockets.append(sock)

    def stop(self) -> None:
        for agent in self.agents:
            self.lab.stop_process(agent)
        self.agents, self.sockets = [], []
        self.lab.kill_services()

    def events(self, host: str) -> List[str]:
        path = os.path.join(self.host_dir(host), "agent.stderr")
        try:
            with open(path, errors="replace") as handle:
                return handle.read().splitlines()
        except OSError:
            return []
