"""A probe's configuration as a typed spec, every default filled in, durations in seconds.

Built once, when a validated config is built (model.py). What the schema cannot catch
(unique names, one notify probe, a regular expression that compiles) is a semantic check
in checks.py, so `procguard check` reports it with its line like any other problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

from ..durations import parse_duration
from .probe_schema import DEFAULTS
from .sizes import parse_size

COMMON_KEYS = ("name", "type", "interval", "timeout", "start_delay", "fall", "rise")


@dataclass(frozen=True)
class ProbeSpec:
    """One stall or readiness probe of a watch, typed and checked."""

    name: str
    type: str
    interval: float
    timeout: float
    start_delay: float
    fall: int
    rise: int
    options: Dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def opt(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


def timings(cfg: Dict[str, Any]) -> Tuple[float, float]:
    """(interval, timeout) in seconds: the timeout defaults to the type's, capped by the interval."""
    base = DEFAULTS[cfg["type"]]
    interval = parse_duration(cfg.get("interval", base["interval"]))
    timeout = parse_duration(cfg.get("timeout", min(base["timeout"], interval) if base["timeout"] else 0))
    return interval, timeout


def build_probe(cfg: Dict[str, Any]) -> ProbeSpec:
    """The spec of one validated `probes:` item."""
    kind = cfg["type"]
    base = DEFAULTS[kind]
    interval, timeout = timings(cfg)
    options = {k: v for k, v in cfg.items() if k not in COMMON_KEYS}
    if kind == "http":
        status = options.get("expect_status", 200)
        options["expect_status"] = tuple(status) if isinstance(status, (list, tuple)) else (status,)
    if kind == "heartbeat_file":
        options["max_age"] = parse_duration(options["max_age"])
    if kind == "proc_state":
        options["max_duration"] = parse_duration(options.get("max_duration", 10))
        options["states"] = tuple(options.get("states", ("D", "T", "Z")))
    if kind == "notify":
        options.setdefault("watchdog", True)
    if kind == "rss_max":
        options["max"] = parse_size(options["max"])
    if kind == "cpu_percent":
        options["window"] = parse_duration(options.get("window", 30))
    return ProbeSpec(
        name=cfg.get("name") or kind, type=kind, interval=interval, timeout=timeout,
        start_delay=parse_duration(cfg.get("start_delay", base["start_delay"])),
        fall=int(cfg.get("fall", base["fall"])), rise=int(cfg.get("rise", base["rise"])),
        options=options,
    )

