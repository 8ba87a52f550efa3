"""Typed specs for a watch's output and reload, with their defaults filled in."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ..durations import parse_duration
from .sizes import parse_size

OUTPUT_DEFAULTS: Dict[str, Any] = {"to": "auto", "max_size": "10M", "keep": 3}
RELOAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class OutputSpec:
    """Where a started service's stdout and stderr go, and how much of it is kept."""

    to: str = "auto"            # auto | journal | file | none
    max_size: int = 10 << 20    # bytes of the current file before it is rotated
    keep: int = 3               # rotated files kept


@dataclass(frozen=True)
class ReloadSpec:
    """How to ask a service to reload: a signal or a command, bounded in time."""

    signal: Optional[int] = None
    argv: Optional[Tuple[str, ...]] = None
    timeout: float = RELOAD_TIMEOUT


def build_output(cfg: Optional[Dict[str, Any]]) -> OutputSpec:
    merged = {**OUTPUT_DEFAULTS, **(cfg or {})}
    return OutputSpec(to=merged["to"], max_size=parse_size(merged["max_size"]), keep=int(merged["keep"]))


def build_reload(cfg: Optional[Dict[str, Any]]) -> Optional[ReloadSpec]:
    if not cfg:
        return None
    if "signal" in cfg:
        return ReloadSpec(signal=int(getattr(signal, "SIG" + cfg["signal"])))
    return ReloadSpec(argv=tuple(cfg["argv"]), timeout=parse_duration(cfg.get("timeout", RELOAD_TIMEOUT)))
