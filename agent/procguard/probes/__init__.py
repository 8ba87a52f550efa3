"""Stall probes: http, tcp, exec, heartbeat_file, proc_state, notify (see docs/probes.md).

The engine uses `ProbeManager` (manager.py), `PROBE_SCHEMA` (schema.py), `write_snapshot`
(snapshot.py) and, for reaping, `children.REGISTRY`.
"""

from .children import REGISTRY, run_command
from .manager import ProbeManager
from .schema import PROBE_SCHEMA
from .snapshot import write_snapshot

__all__ = ["PROBE_SCHEMA", "REGISTRY", "ProbeManager", "run_command", "write_snapshot"]
