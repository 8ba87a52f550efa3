"""systemd 252 (Debian 12) as the supervisor: PID 1 on this machine is not systemd, so the
lab starts one systemd container (the project's test image, procguard-test/debian:bookworm,
network none) and runs each service as a unit in that server's own network namespace
(`NetworkNamespacePath=` to the lab's namespace, bind-mounted in), with Restart=always,
Type=notify and WatchdogSec=2s (the services speak sd_notify), a .socket unit per service
outside the cluster (socket activation, as procguard's contender has `start.listen`), start limits like
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


# What a competent operator sets, and the same budget as the other contenders: 3 restarts in
# 30 s (4 starts; procguard: max_restarts 3), or on a cluster node 1 restart before failing
# over (2 starts); a start may take 10 s (the services are ready in about 1 s; a first run
# with TimeoutStartSec=3 saw starts time out when five services started together on this
# loaded 2-core machine, spending the start budget before anything failed).
START_LIMIT_BURST = 4
CLUSTER_START_LIMIT_BURST = 2
TIMEOUT_START = "10s"


def unit_text(service: Service, workdir: str, netns: str, failover: Optional[Failover]) -> str:
    on_failure = ""
    burst = START_LIMIT_BURST
    if failover is not None and service.host in failover.track_files:
        on_failure = f"OnFailure=pglab-failover-{service.host}.service\n"
        burst = CLUSTER_START_LIMIT_BURST
    return (f"[Unit]\nDescription=lab {service.role} on {service.host}\n"
            f"StartLimitIntervalSec=30\nStartLimitBurst={burst}\n" + on_failure +
            "[Service]\nType=notify\nNotifyAccess=main\n"
            f"ExecStart={service.launcher(workdir)}\nNetworkNamespacePath=/run/netns/{netns}\n"
            f"Restart=always\nRestartSec=100ms\nWatchdogSec=2\nTimeoutStartSec={TIMEOUT_START}\n"
            "TimeoutStopSec=2\n")


# SOCKETS_NOT_ON_CLUSTER: a .socket unit also starts its service when a connection comes
# while the service is down, and systemd counts those starts against StartLimitBurst. With a
# cluster node's budget of 2 starts, the run of 2026-12-02 03:46 had it spent before the fault (most
# likely by such starts):
# the first watchdog restart hit the start limit and failed over at once (and one episode
# never started). Cluster nodes keep plain units until the budget can leave those starts out.


def socket_text(service: Service, netns: str) -> str:
    """Socket activation, as procguard's `start.listen` gives its contender: systemd binds the
    port in the server's namespace and holds it across restarts of the service (systemd sets
    SO_REUSEADDR on its listening sockets itself)."""
    return (f"[Unit]\nDescription=lab {service.role} socket on {service.host}\n"
            f"[Socket]\nListenStream=0.0.0.0:{service.port}\nNetworkNamespacePath=/run/netns/{netns}\n")


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
            if failover is None:      # not on cluster nodes: see SOCKETS_NOT_ON_CLUSTER
                with open(os.path.join(units_dir, name.replace(".service", ".socket")), "w") as handle:
                    handle.write(socket_text(service, self.lab.topology.ns(service.host)))
            self.units.append(name)
            if failover is not None and service.host in failover.track_files:
                with open(os.path.join(units_dir, f"pglab-failover-{service.host}.service"), "w") as handle:
                    handle.write(failover_text(failover.track_files[service.host], failover.weight))
        if failover is None:
            sockets = " ".join(u.replace(".service", ".socket") for u in self.units)
            # the services are loaded first: systemd refuses to start a socket whose service it does not know
            done = self.exec(f"cp {units_dir}/*.socket {units_dir}/*.service /run/systemd/system/ && "
                             f"systemctl daemon-reload && systemctl start {sockets}", check=False)
            if done.returncode != 0:   # say why: the journal of the socket units, not "Job failed"
                said = self.exec(f"journalctl --no-pager -o cat -n 12 {' '.join('-u ' + s for s in sockets.split())}",
                                 check=False).stdout.strip().replace("\n", " / ")
                raise RuntimeError(f"lab: systemd could not start {sockets}: {said or done.stderr.strip()}")
        self.exec(f"cp {units_dir}/*.service /run/systemd/system/ && systemctl daemon-reload && "
                  f"systemctl start --no-block {' '.join(self.units)}")

    def diagnose(self) -> str:
        """The units' states, for an episode whose services never answered."""
        out = self.exec("systemctl --no-pager --plain --no-legend list-units --all 'pglab-*'", check=False)
        return " / ".join(" ".join(line.split()[:4]) for line in out.stdout.splitlines())

    def events(self, fault_mono: float) -> List[List[Any]]:
        """systemd's own record (the journal of the lab's units, CLOCK_MONOTONIC stamps, the
        same clock as the lab's: the container shares the host's kernel)."""
        out = self.exec("journalctl --no-pager -o short-monotonic -u 'pglab-*'", check=False, timeout=60).stdout
        with open(os.path.join(self.lab.workdir, "systemd-journal.txt"), "w") as handle:
            handle.write(out)                   # the services' own output too (LAB_KEEP=1 keeps it)
        found: List[List[Any]] = []
        for line in out.splitlines():
            stamp, _, rest = line.strip().lstrip("[").partition("]")
            try:
                t = float(stamp)
            except ValueError:
                continue
            if "pglab-" in rest and t - fault_mono > -20:    # this episode only (the container serves them all)
                found.append([round(t - fault_mono, 3), "systemd", "journal", rest.split(": ", 1)[-1].strip()])
        return found

    def stop(self) -> None:
        if self.running:
            self.exec("systemctl stop 'pglab-*' ; systemctl reset-failed 'pglab-*' ; "
                      "rm -f /run/systemd/system/pglab-*.service /run/systemd/system/pglab-*.socket ; "
                      "systemctl daemon-reload", check=False)
        self.units = []
        self.lab.kill_services()

    def close(self) -> None:
        if self.running:
            docker("rm", "-f", self.container, check=False)
            self.running = False
