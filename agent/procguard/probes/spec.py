"""A probe's configuration with every default filled in and durations in seconds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from ..config.durations import parse_duration
from .schema import DEFAULTS, PROBE_TYPES


@dataclass(frozen=True)
class ProbeSpec:
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


def normalize(cfg: Dict[str, Any]) -> ProbeSpec:
    """Fill defaults; raises ValueError naming the key for what the schema cannot catch."""
    kind = cfg.get("type")
    if kind not in PROBE_TYPES:
        raise ValueError(f"probe type must be one of {', '.join(PROBE_TYPES)}, not {kind!r}")
    name = cfg.get("name") or kind
    base = DEFAULTS[kind]
    interval = parse_duration(cfg.get("interval", base["interval"]))
    timeout = parse_duration(cfg.get("timeout", min(base["timeout"], interval) if base["timeout"] else 0))
    if interval <= 0:
        raise ValueError(f"probe {name}: interval must be above zero")
    options = {k: v for k, v in cfg.items()
               if k not in ("name", "type", "interval", "timeout", "start_delay", "fall", "rise")}
    if kind == "http":
        if "expect_body" in options:
            re.compile(options["expect_body"])
        status = options.get("expect_status", 200)
        options["expect_status"] = tuple(status) if isinstance(status, (list, tuple)) else (status,)
    if kind == "heartbeat_file":
        options["max_age"] = parse_duration(options["max_age"])
    if kind == "proc_state":
        options["max_duration"] = parse_duration(options.get("max_duration", 10))
        options["states"] = tuple(options.get("states", ("D", "T", "Z")))
    if kind == "notify":
        options.setdefault("watchdog", True)
    if kind in ("http", "tcp", "exec") and timeout <= 0:
        raise ValueError(f"probe {name}: timeout must be above zero")
    return ProbeSpec(
        name=name, type=kind, interval=interval, timeout=timeout,
        start_delay=parse_duration(cfg.get("start_delay", base["start_delay"])),
        fall=int(cfg.get("fall", base["fall"])), rise=int(cfg.get("rise", base["rise"])),
        options=options,
    )


def normalize_all(cfgs: Any) -> Tuple[ProbeSpec, ...]:
    specs = tuple(normalize(dict(c)) for c in (cfgs or ()))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"probe names must be unique within a watch: {', '.join(dupes)}")
    if sum(1 for s in specs if s.type == "notify") > 1:
        raise ValueError("a watch can have one notify probe only (one NOTIFY_SOCKET per process)")
    return specs


def find(specs: Tuple[ProbeSpec, ...], name: str) -> Optional[ProbeSpec]:
    return next((s for s in specs if s.name == name), None)
