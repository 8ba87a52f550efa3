"""What must survive an agent restart: pauses (with their expiry).

Written atomically (temporary file, fsync, rename) so a crash never leaves half a file,
and read leniently: a damaged file is reported and ignored rather than stopping the agent.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, Optional

PAUSES = "pauses.json"


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateStore:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        os.makedirs(state_dir, mode=0o700, exist_ok=True)

    def load_pauses(self) -> Dict[str, float]:
        """{watch: wall-clock expiry}; math.inf means until resumed."""
        try:
            with open(os.path.join(self.state_dir, PAUSES)) as handle:
                raw = json.load(handle)
        except (OSError, ValueError):
            return {}
        out: Dict[str, float] = {}
        for name, until in raw.items():
            out[str(name)] = math.inf if until is None else float(until)
        return out

    def save_pauses(self, pauses: Dict[str, Optional[float]]) -> None:
        data = {k: (None if v is None or math.isinf(v) else v) for k, v in sorted(pauses.items())}
        atomic_write(os.path.join(self.state_dir, PAUSES), json.dumps(data, indent=1).encode())
