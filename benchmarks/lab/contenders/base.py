"""What every contender does: start supervising a scenario's services on their servers,
and stop everything it started. The lab's runner owns the rest (traffic, faults, timing)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..plan import Service


@dataclass
class Failover:
    """Scenario "cluster": where each node's keepalived reads its track file."""
    track_files: Dict[str, str] = field(default_factory=dict)   # host -> path
    weight: int = -100


class Contender:
    name = "base"
    agent_check = False          # HAProxy also asks the contender (agent-check)
    version = ""

    def __init__(self, lab: LabContext) -> None:  # noqa: F821 - runner.LabContext
        self.lab = lab

    def available(self) -> Optional[str]:
        """None when it can run here, else why not (one line)."""
        return None

    def start(self, services: List[Service], failover: Optional[Failover]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def host_dir(self, host: str) -> str:
        path = os.path.join(self.lab.workdir, "hosts", host, self.name)
        os.makedirs(path, exist_ok=True)
        return path
