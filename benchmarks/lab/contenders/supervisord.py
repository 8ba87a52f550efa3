"""supervisord 4.3 (from PyPI, in .bench-venv/ by scripts/bench-setup.sh), one per server:
autorestart, startsecs=1, startretries=3, stop and kill the whole process group. It has no
health checks, so a hung process is not its business; after startretries it leaves a
crash loop in FATAL."""

from __future__ import annotations

import os
import subprocess
from typing import Any, List, Optional

from ..plan import Service
from .base import Contender, Failover

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SUPERVISORD = os.path.join(REPO, ".bench-venv", "bin", "supervisord")


def conf(home: str, services: List[Service], workdir: str, sock: str) -> str:
    lines = [
        "[unix_http_server]", f"file={sock}", "chmod=0700", "",
        "[supervisord]", "nodaemon=true", f"logfile={home}/supervisord.log", "loglevel=info",
        f"pidfile={home}/supervisord.pid", f"childlogdir={home}", "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{sock}", "",
    ]
    for service in services:
        lines += [f"[program:{service.unit}]", f"command={service.launcher(workdir)}",
                  "autostart=true", "autorestart=true", "startsecs=1", "startretries=3",
                  "stopsignal=TERM", "stopwaitsecs=2", "stopasgroup=true", "killasgroup=true",
                  f"stdout_logfile={home}/{service.unit}.log", "redirect_stderr=true", ""]
    return "\n".join(lines)


class Supervisord(Contender):
    name = "supervisord"

    def __init__(self, lab: Any) -> None:
        super().__init__(lab)
        self.daemons: List[subprocess.Popen[bytes]] = []

    def available(self) -> Optional[str]:
        if not os.access(SUPERVISORD, os.X_OK):
            return f"{SUPERVISORD} missing: run scripts/bench-setup.sh"
        out = subprocess.run([SUPERVISORD, "--version"], capture_output=True, text=True, timeout=60)
        self.version = "supervisor " + out.stdout.strip()
        return None

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        for service in services:
            home = self.host_dir(service.host)
            path = os.path.join(home, "supervisord.conf")
            with open(path, "w") as handle:
                handle.write(conf(home, [service], self.lab.workdir, self.lab.sock_path(service.host, self.name)))
            self.daemons.append(self.lab.spawn(service.host, [SUPERVISORD, "-c", path],
                                               os.path.join(home, "supervisord.stderr"), cwd=home))

    def stop(self) -> None:
        for daemon in self.daemons:
            self.lab.stop_process(daemon)
        self.daemons = []
        self.lab.kill_services()
