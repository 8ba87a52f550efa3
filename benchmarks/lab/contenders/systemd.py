"""systemd 252 (Debian 12) as the supervisor: PID 1 on this machine is not systemd, so the
lab starts one systemd container (the project's test image, procguard-test/debian:bookworm,
network none) and runs each service as a unit in that server's own network namespace
(`NetworkNamespacePath=` to the lab's namespace, bind-mounted in), with Restart=always,
Type=notify and WatchdogSec=2s (the services speak sd_notify), start limits like
procguard's budget, and on a cluster node OnFailure= a unit that writes keepalived's
track file. One systemd serves every server: each unit is supervised on its own."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, List, Optional

from ..plan import Service
from .base import Contender, Failover

IMAGE = "procguard-test/debian:bookworm"
BENCH = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"lab: docker {' '.join(args[:2])} failed: {out.stderr.strip()[-300:]}")
    return out


def unit_text(service: Service, workdir: str, netns: str, failover: Optional[Failover]) -> str:
    on_failure = ""
    if failover is not None and service.host in failover.track_files:
        on_failure = f"OnFailure=pglab-failover-{service.host}.service\n"
    return (f"[Unit]\nDescription=lab {service.role} on {service.host}\n"
            "StartLimitIntervalSec=30\nStartLimitBurst=4\n" + on_failure +
            "[Service]\nType=notify\nNotifyAccess=main\n"
            f"ExecStart={service.launcher(workdir)}\nNetworkNamespacePath=/run/netns/{netns}\n"
            "Restart=always\nRestartSec=100ms\nWatchdogSec=2\nTimeoutStartSec=3\nTimeoutStopSec=2\n")


def failover_text(track: str, weight: int) -> str:
    return f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo {weight} > {track}'\n"


class Systemd(Contender):
    name = "systemd"

    def __init__(self, lab: Any) -> None:
        super().__init__(lab)
        self.container = f"pglab-{lab.tag}-systemd"
        self.running = False
        self.units: List[str] = []

    def available(self) -> Optional[str]:
        out = docker("image", "inspect", IMAGE, check=False, timeout=60)
        if out.returncode != 0:
            return f"no image {IMAGE}: run `make containers` (scripts/containers/image.sh bookworm)"
        return None

    def _boot(self) -> None:
        self.lab.registry.add("containers", self.container)
        docker("run", "-d", "--name", self.container, "--network", "none", "--cap-add", "SYS_ADMIN",
               "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
               "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run",
               "--tmpfs", "/run/lock", "-v", "/run/netns:/run/netns", "-v", f"{self.lab.root}:{self.lab.root}",
               "-v", f"{BENCH}:{BENCH}:ro", "-e", "container=docker", "--stop-signal", "SIGRTMIN+3",
               IMAGE, "/lib/systemd/systemd")
        end, state = time.monotonic() + 90, ""
        while time.monotonic() < end and state not in ("running", "degraded"):
            # right after `docker run` systemd may not answer yet: ask again
            state = self.exec("systemctl is-system-running --wait", check=False, timeout=90).stdout.strip()
            if state not in ("running", "degraded"):
                time.sleep(0.5)
        if state not in ("running", "degraded"):
            raise RuntimeError(f"lab: systemd in {self.container} did not boot: {state!r}")
        self.version = self.exec("systemctl --version", timeout=30).stdout.splitlines()[0]
        self.running = True

    def exec(self, script: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return docker("exec", self.container, "sh", "-c", script, check=check, timeout=timeout)

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        if not self.running:
            self._boot()
        units_dir = os.path.join(self.lab.workdir, "systemd-units")
        os.makedirs(units_dir, exist_ok=True)
        self.units = []
        for service in services:
            name = f"pglab-{service.host}-{service.role}.service"
            with open(os.path.join(units_dir, name), "w") as handle:
                handle.write(unit_text(service, self.lab.workdir, self.lab.topology.ns(service.host), failover))
            self.units.append(name)
            if failover is not None and service.host in failover.track_files:
                with open(os.path.join(units_dir, f"pglab-failover-{service.host}.service"), "w") as handle:
                    handle.write(failover_text(failover.track_files[service.host], failover.weight))
        self.exec(f"cp {units_dir}/*.service /run/systemd/system/ && systemctl daemon-reload && "
                  f"systemctl start --no-block {' '.join(self.units)}")

    def diagnose(self) -> str:
        """The units' states, for an episode whose services never answered."""
        out = self.exec("systemctl --no-pager --plain --no-legend list-units --all 'pglab-*'", check=False)
        return " / ".join(" ".join(line.split()[:4]) for line in out.stdout.splitlines())

    def stop(self) -> None:
        if self.running:
            self.exec("systemctl stop 'pglab-*' ; systemctl reset-failed 'pglab-*' ; "
                      "rm -f /run/systemd/system/pglab-*.service ; systemctl daemon-reload", check=False)
        self.units = []
        self.lab.kill_services()

    def close(self) -> None:
        if self.running:
            docker("rm", "-f", self.container, check=False)
            self.running = False
