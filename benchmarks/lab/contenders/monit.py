"""monit 5.33 (Debian), one per server, `set daemon 1` (its shortest cycle): a process check
by pidfile, restarted when it is gone or when its HTTP health check fails 2 cycles in a row
(1 s timeout). monit waits for a start program to return, so the program detaches the
service (`setsid -f`), which writes its own pidfile. On a cluster node, 3 restarts within
10 cycles run an exec that writes keepalived's track file, monit's way to escalate."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, List, Optional

from ..plan import Service
from .base import Contender, Failover

MONIT = shutil.which("monit") or "/usr/bin/monit"


def conf(home: str, service: Service, workdir: str, failover: Optional[Failover]) -> str:
    pidfile = service.pidfile(workdir)
    lines = [
        "set daemon 1",
        f"set logfile {home}/monit.log",
        f"set pidfile {home}/monit.pid",
        f"set idfile {home}/monit.id",
        f"set statefile {home}/monit.state",
        "",
        f"check process {service.unit} with pidfile {pidfile}",
        f'    start program = "/usr/bin/setsid -f {service.launcher(workdir)}" with timeout 10 seconds',
        f'    stop program = "/bin/sh -c \'kill $(cat {pidfile})\'"',
        f'    if failed host 127.0.0.1 port {service.port} protocol http request "/health"'
        " with timeout 1 seconds for 2 cycles then restart",
    ]
    if failover is not None and service.host in failover.track_files:
        track = failover.track_files[service.host]
        lines.append(f'    if 3 restarts within 10 cycles then exec "/bin/sh -c \'echo {failover.weight} > {track}\'"')
    return "\n".join(lines) + "\n"


class Monit(Contender):
    name = "monit"

    def __init__(self, lab: Any) -> None:
        super().__init__(lab)
        self.daemons: List[subprocess.Popen[bytes]] = []

    def available(self) -> Optional[str]:
        if not os.access(MONIT, os.X_OK):
            return "monit missing: run scripts/bench-setup.sh"
        out = subprocess.run([MONIT, "-V"], capture_output=True, text=True, timeout=60)
        self.version = out.stdout.strip().splitlines()[0] if out.stdout else "monit"
        return None

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        for service in services:
            home = self.host_dir(service.host)
            os.makedirs(os.path.dirname(service.pidfile(self.lab.workdir)), exist_ok=True)
            path = os.path.join(home, "monitrc")
            with open(path, "w") as handle:
                handle.write(conf(home, service, self.lab.workdir, failover))
            os.chmod(path, 0o600)
            check = subprocess.run([MONIT, "-t", "-c", path], capture_output=True, text=True, timeout=60)
            if check.returncode != 0:
                raise RuntimeError(f"lab: monit -t refused {path}: {check.stdout}{check.stderr}")
            self.daemons.append(self.lab.spawn(service.host, [MONIT, "-I", "-c", path],
                                               os.path.join(home, "monit.stderr"), cwd=home))

    def stop(self) -> None:
        for daemon in self.daemons:
            self.lab.stop_process(daemon)
        self.daemons = []
        self.lab.kill_services()
