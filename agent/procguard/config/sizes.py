"""Sizes as people write them: 1048576, "512K", "64M", "2G", "1GiB" (K = 1024, as systemd).

Bounded like durations: at most 1 PiB, so a typo never reaches a cgroup file as nonsense.
"""

from __future__ import annotations

import re
from typing import Union

PATTERN = r"^\s*([0-9]{1,16})\s*(K|M|G|T|KiB|MiB|GiB|TiB)?\s*$"
MAX_BYTES = 1 << 50
_UNITS = {None: 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(value: Union[str, int]) -> int:
    """Bytes as an int; raises ValueError with a hint on anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("a size is a number of bytes or a string like '512M', '2G'")
    if isinstance(value, int):
        size = value
    else:
        match = re.match(PATTERN, value[:64])
        if not match:
            raise ValueError(f"{value[:40]!r} is not a size; write e.g. 512K, 64M or 2G")
        unit = match.group(2)
        size = int(match.group(1)) * _UNITS[unit[0] if unit else None]
    if size < 0 or size > MAX_BYTES:
        raise ValueError("a size must be between 0 and 1 PiB")
    return size


def format_size(size: int) -> str:
    """512M, 1G, 108.3M: the largest unit, one decimal unless exact."""
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= factor:
            return f"{size // factor}{unit}" if size % factor == 0 else f"{size / factor:.1f}{unit}"
    return str(size)
