"""A watch's limits as a typed spec: cgroup limits in bytes and percent, rlimits as pairs.

Built once, when a validated config is built (model.py). Which of them the host can
enforce is decided where they are applied (cgroups/limits.py) and said in status and by
`procguard check` (host_checks.py); a limit is never silently ignored.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from .sizes import parse_size

Pair = Tuple[int, int]
CGROUP_KEYS = ("memory_max", "memory_high", "cpu_quota", "tasks_max")
RLIMIT_KEYS = ("nofile", "core", "nproc")
RLIMITS = {"nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE, "nproc": resource.RLIMIT_NPROC}


@dataclass(frozen=True)
class LimitsSpec:
    """A watch's resource limits in the units the kernel takes; None: not limited."""

    memory_max: Optional[int] = None    # bytes
    memory_high: Optional[int] = None   # bytes
    cpu_quota: Optional[float] = None   # percent of one CPU
    tasks_max: Optional[int] = None
    nofile: Optional[Pair] = None       # (soft, hard); RLIM_INFINITY for unlimited
    core: Optional[Pair] = None
    nproc: Optional[Pair] = None

    def cgroup(self) -> Dict[str, Union[int, float]]:
        """The cgroup limits that are set, by key."""
        return {k: getattr(self, k) for k in CGROUP_KEYS if getattr(self, k) is not None}

    def rlimits(self) -> Tuple[Tuple[str, int, Pair], ...]:
        """(key, RLIMIT_*, (soft, hard)) for each rlimit that is set."""
        return tuple((k, RLIMITS[k], getattr(self, k)) for k in RLIMIT_KEYS if getattr(self, k) is not None)

    def __bool__(self) -> bool:
        return bool(self.cgroup() or self.rlimits())


def parse_rlimit(value: Union[int, str]) -> Pair:
    """5, "unlimited", "1024:4096" -> (soft, hard); one value sets both."""
    if isinstance(value, int):
        return value, value
    soft, _, hard = value.partition(":")
    both = (_one(soft), _one(hard or soft))
    return both


def _one(word: str) -> int:
    return resource.RLIM_INFINITY if word == "unlimited" else int(word)


def build_limits(cfg: Optional[Dict[str, Any]]) -> LimitsSpec:
    if not cfg:
        return LimitsSpec()
    quota = cfg.get("cpu_quota")
    return LimitsSpec(
        memory_max=parse_size(cfg["memory_max"]) if "memory_max" in cfg else None,
        memory_high=parse_size(cfg["memory_high"]) if "memory_high" in cfg else None,
        cpu_quota=float(quota.rstrip("%")) if quota else None,
        tasks_max=cfg.get("tasks_max"),
        **{k: parse_rlimit(cfg[k]) for k in RLIMIT_KEYS if k in cfg},
    )


def describe_limit(key: str, value: Any) -> str:
    """How a limit is written back to people: 256M, 50%, 1024:4096."""
    from .sizes import format_size

    if key in ("memory_max", "memory_high"):
        return format_size(int(value))
    if key == "cpu_quota":
        return f"{value:g}%"
    if isinstance(value, tuple):
        words = ["unlimited" if v == resource.RLIM_INFINITY else str(v) for v in value]
        return words[0] if words[0] == words[1] else ":".join(words)
    return str(value)
