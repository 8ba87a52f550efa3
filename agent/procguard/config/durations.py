"""Durations as people write them: 30, 1.5, "250ms", "10s", "5m", "1h", "1d"."""

from __future__ import annotations

import re
from typing import Union

PATTERN = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Union[str, int, float]) -> float:
    """Seconds as a float; raises ValueError with a hint on anything else."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '10s', '5m'")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = re.match(PATTERN, str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 500ms, 10s, 5m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:.0f}ms"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:g}s"
