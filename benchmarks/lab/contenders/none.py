"""No supervisor: the services are started once, as a boot script would."""

from __future__ import annotations

from typing import List, Optional

from ..plan import Service
from .base import Contender, Failover


class NoSupervisor(Contender):
    name = "none"
    version = "-"

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        for service in services:
            self.lab.spawn(service.host, [service.launcher(self.lab.workdir)],
                           f"{self.host_dir(service.host)}/{service.role}.log")

    def stop(self) -> None:
        self.lab.kill_services()
