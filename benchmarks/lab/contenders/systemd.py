"""systemd placeholder (filled in below)."""

from __future__ import annotations

from typing import List, Optional

from ..plan import Service
from .base import Contender, Failover


class Systemd(Contender):
    name = "systemd"

    def available(self) -> Optional[str]:
        return "not yet"

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pass
