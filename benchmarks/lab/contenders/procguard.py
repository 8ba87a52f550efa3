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

import cgroup_dirs

from ..haproxy import AGENT_PORT
from ..plan import TIERS, Service
from .base import Contender, Failover

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AGENT_SRC = os.path.join(REPO, "agent")

# Probe and restart settings, comparable in aggressiveness to what the other contenders get
# (monit: every 1 s cycle, 2 failed cycles; systemd: WatchdogSec=2s, StartLimitBurst, the same
# start timeout). On a cluster node one restart is tried before failing over (issue 14: "a
# restart tried; if that does not recover it, the service fails over").
HTTP_PROBE = {"type": "http", "interval": "500ms", "timeout": "500ms", "start_delay": 0, "fall": 2, "rise": 1}
BACKOFF = {"initial": "500ms", "max": "2s"}
RESTART = {"max_restarts": 3, "window": "30s", "backoff": BACKOFF}
CLUSTER_RESTART = {"max_restarts": 1, "window": "30s", "backoff": BACKOFF}
START_TIMEOUT = "10s"       # ready in about 1 s here; 10 s leaves room for a loaded machine
# Events that show what the agent did (probe checks and debug lines are left out).
QUIET = ("PG4001",)


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
        # socket activation: the agent holds the port, so a connection made while the
        # service restarts waits in the backlog instead of being refused
        "start": {"argv": [service.launcher(workdir)], "timeout": START_TIMEOUT, "ready": {"probe": "health"},
                  "listen": [f"0.0.0.0:{service.port}"]},
        "stop": {"signal": "TERM", "timeout": "2s"},
        "restart": CLUSTER_RESTART if failover is not None else RESTART,
        "probes": probes,
    }
    if escalate:
        watch["on_giveup"] = {"action": "escalate", "retry_every": "30s", "escalate": escalate}
    return watch


def listener_for(service: Service, sole_unhealthy: str) -> Dict[str, Any]:
    """The agent-check listener of a web server. A server alone in its backend answers
    `sole_unhealthy` (default `up`) while it restarts: `drain` would turn HAProxy's retry of a
    refused connection into an immediate 503, since no other server can take the request
    (docs/escalation.md). It still answers `down` once the watch gave up."""
    server: Dict[str, Any] = {"name": service.host, "watches": [service.unit]}
    if any(service.host in names and len(names) == 1 for tier in TIERS.values() for names in tier.values()):
        server["unhealthy"] = sole_unhealthy
    return {"address": "0.0.0.0", "port": AGENT_PORT, "recover_after": "2s", "servers": [server]}


def parse_events(lines: List[str], host: str, fault_mono: float) -> List[List[Any]]:
    """[[seconds from the fault, host, id, text]] from the agent's stderr (--monotonic-stamps:
    CLOCK_MONOTONIC, the lab's clock)."""
    out: List[List[Any]] = []
    for line in lines:
        parts = line.split(None, 3)
        if len(parts) < 4 or not parts[2].startswith("PG") or parts[1] == "debug" or parts[2] in QUIET:
            continue
        try:
            stamp = float(parts[0])
        except ValueError:
            continue
        out.append([round(stamp - fault_mono, 3), host, parts[2], parts[3]])
    return out


def sign(key: str, configs: List[str]) -> None:
    """CONFIG.sig for each config with the agent's own signing code, in this process: one
    `procguard sign` per config costs two interpreters each (it checks the config in a child
    first); the agents check every config at admission anyway."""
    if AGENT_SRC not in sys.path:
        sys.path.insert(0, AGENT_SRC)
    from procguard.signing.keys import load_private_key
    from procguard.signing.signature import sign_with

    private = load_private_key(key)
    for config in configs:
        with open(config, "rb") as handle:
            signature = sign_with(private, handle.read())
        with open(config + ".sig", "wb") as handle:
            handle.write(signature)


class Procguard(Contender):
    name = "procguard"
    agent_check = True

    def __init__(self, lab: Any) -> None:
        super().__init__(lab)
        self.agents: List[subprocess.Popen[bytes]] = []
        self.sockets: List[str] = []
        self.keys = os.path.join(lab.root, "procguard-keys")
        self.serial = 0
        self.hosts: List[str] = []

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
        """Write and sign every server's config (the lab is the operator's workstation here),
        then start one agent per server."""
        self.serial += 1
        self.hosts = [s.host for s in services]
        configs = [self._write_config(s, failover) for s in services]
        sign(self._key(), configs)
        for service, config in zip(services, configs):
            self._start_agent(service, config)

    def _write_config(self, service: Service, failover: Optional[Failover]) -> str:
        home = self.host_dir(service.host)
        doc: Dict[str, Any] = {"version": 1, "serial": self.serial, "scope": [service.host],
                               "watches": [watch_for(service, self.lab.workdir, failover)]}
        if service.role == "web":
            doc["haproxy_agent"] = [listener_for(service, self.lab.sole_unhealthy)]
        config = os.path.join(home, "watches.yaml")
        with open(config, "w") as handle:
            json.dump(doc, handle, indent=1)          # JSON is YAML
        return config

    def _start_agent(self, service: Service, config: str) -> None:
        home = self.host_dir(service.host)
        settings = os.path.join(home, "agent.yaml")
        revoked = os.path.join(home, "revoked.txt")
        with open(revoked, "w"):          # the settings name it, so it must exist (empty: none revoked)
            pass
        with open(settings, "w") as handle:
            handle.write(f"revoked: {revoked}\n")
        sock = self.lab.sock_path(service.host, self.name)
        argv = procguard("agent", "--config", config, "--settings", settings,
                         "--state-dir", os.path.join(home, "state"), "--socket", sock,
                         "--trusted-keys", os.path.join(self.keys, "trusted"),
                         "--host-name", service.host, "--syslog-socket", "", "--monotonic-stamps",
                         "--cgroup-path", self._cgroup_path(service.host))
        self.agents.append(self.lab.spawn(service.host, argv, os.path.join(home, "agent.stderr"), env=env()))
        self.sockets.append(sock)

    def _cgroup_path(self, host: str) -> str:
        """The cgroups of one server's agent, of this episode: removed when the episode stops."""
        return cgroup_dirs.path_for(f"lab-{self.lab.tag}-{os.path.basename(self.lab.workdir)}-{host}")

    def stop(self) -> None:
        self.lab.stop_processes(self.agents)
        self.agents, self.sockets = [], []
        self.lab.kill_services()
        for host in self.hosts:     # a stopped agent leaves its watches' cgroups (a restart adopts them)
            cgroup_dirs.remove(self._cgroup_path(host))

    def diagnose(self) -> str:
        """The agents' last words, for an episode whose services never answered."""
        said = []
        for host in self.hosts:
            lines = self._lines(host)
            bad = [line for line in lines if line.split(None, 2)[1:2] in (["err"], ["crit"], ["alert"])]
            if bad or lines:
                said.append(f"{host}: {(bad or lines)[-1][:300]}")
        return " / ".join(said) or "no agent output"

    def events(self, fault_mono: float) -> List[List[Any]]:
        out: List[List[Any]] = []
        for host in self.hosts:
            out += parse_events(self._lines(host), host, fault_mono)
        return sorted(out, key=lambda e: e[0])

    def _lines(self, host: str) -> List[str]:
        path = os.path.join(self.host_dir(host), "agent.stderr")
        try:
            with open(path, errors="replace") as handle:
                return handle.read().splitlines()
        except OSError:
            return []
