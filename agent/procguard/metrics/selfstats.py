"""The agent's own resident memory and open descriptors, from /proc/self (no psutil)."""

from __future__ import annotations

import os
from typing import Tuple

_PAGE = os.sysconf("SC_PAGE_SIZE")


def sample() -> Tuple[int, int]:
    """(resident bytes, open file descriptors); 0 for what /proc cannot tell."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            rss = int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        rss = 0
    try:
        fds = len(os.listdir("/proc/self/fd")) - 1  # minus the one listdir itself holds
    except OSError:
        fds = 0
    return rss, fds
