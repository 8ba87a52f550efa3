"""Durations as people write them: 30, 1.5, "250ms", "10s", "5m", "1h", "1d".

Ground floor: imports nothing of ours. Every value is bounded (finite, at most ten years),
so a typo such as `1e300` or a NaN from a client never reaches a timer or a clock.
"""

from __future__ import annotations

import math
import os
import re
import time
from typing import Optional, Union

PATTERN = r"^\s*([0-9]{1,12}(?:\.[0-9]{1,9})?)\s*(ms|s|m|h|d)?\s*$"
MAX_SECONDS = 10 * 366 * 86400.0
MAX_TEXT = 64  # characters: a longer string is not a duration
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Union[str, int, float]) -> float:
    """Seconds as a float; raises ValueError with a hint on anything else."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '10s', '5m'")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            raise ValueError("a duration must be at most ten years") from None
    else:
        text = str(value)
        # whole or not at all: cut to a length, "1<spaces>ms" would read as "1<spaces>m"
        match = re.match(PATTERN, text) if len(text) <= MAX_TEXT else None
        if not match:
            raise ValueError(f"{text[:40]!r} is not a duration; write e.g. 500ms, 10s, 5m or 1h")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("a duration must be a number of seconds, zero or more")
    if seconds > MAX_SECONDS:
        raise ValueError("a duration must be at most ten years; leave it out to mean 'until resumed'")
    return seconds


def format_duration(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:g}s"


def iso_utc(epoch: float) -> str:
    """A wall-clock instant as events and status show it: 2026-12-01T10:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def describe_until(until: Optional[float]) -> Optional[str]:
    """A pause's end as events and status show it: an ISO time, "resume" (until resumed), or None."""
    if until is None:
        return None
    return "resume" if math.isinf(until) else iso_utc(until)


def jitter_fraction() -> float:
    """A uniform fraction in [0, 1) for spreading delays (not a secret): from os.urandom, so
    the agent need not load the random module (~0.1 MiB resident)."""
    return int.from_bytes(os.urandom(7), "big") / (1 << 56)
