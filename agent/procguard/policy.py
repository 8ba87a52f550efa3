"""Restart policy: how many restarts a window allows, and how long to wait before each.

Pure logic over an injected clock and random source, so tests replay histories exactly.
The first restart after a stable run is immediate: most deaths are one-off crashes and
every millisecond of downtime counts. Only repeated failures back off, exponentially and
with jitter so that a fleet does not restart in lockstep.
"""

from __future__ import annotations

import math
from typing import Callable, List

from .config.model import RestartPolicy
from .durations import jitter_fraction


class RestartBudget:
    """Counts restarts inside a sliding window."""

    __slots__ = ("_times", "policy", "total")

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self._times: List[float] = []  # short (at most max_restarts + 1): a list beats a deque's 600 bytes
        self.total = 0

    def in_window(self, now: float) -> int:
        keep = [t for t in self._times if now - t <= self.policy.window]
        if len(keep) != len(self._times):
            self._times = keep
        return len(self._times)

    def spent(self, now: float) -> bool:
        return self.in_window(now) >= self.policy.max_restarts

    def record(self, now: float) -> None:
        self._times.append(now)
        self.total += 1

    def reset(self) -> None:
        self._times.clear()


class Backoff:
    """Delay before a restart: 0, then initial, initial*multiplier, ... up to max, +/- jitter."""

    __slots__ = ("cfg", "failures", "rng")

    def __init__(self, policy: RestartPolicy, rng: Callable[[], float] = jitter_fraction) -> None:
        self.cfg = policy.backoff
        self.rng = rng
        self.failures = 0  # consecutive deaths since the last stable period

    def next_delay(self) -> float:
        self.failures += 1
        if self.failures == 1:
            return 0.0
        cfg = self.cfg
        if cfg.initial <= 0 or cfg.multiplier <= 1 or cfg.initial >= cfg.max:
            base = min(cfg.initial, cfg.max)
        else:
            # the exponent stops growing once the delay reaches max, so no float overflows
            # however long a service keeps failing (it crashed the agent after ~1,025)
            ceiling = math.ceil(math.log(cfg.max / cfg.initial, cfg.multiplier))
            base = min(cfg.max, cfg.initial * cfg.multiplier ** min(self.failures - 2, ceiling))
        spread = base * self.cfg.jitter
        return max(0.0, min(self.cfg.max, base + (self.rng() * 2 - 1) * spread))

    def stable(self) -> None:
        """The process ran for reset_after: the next failure restarts at once again."""
        self.failures = 0
