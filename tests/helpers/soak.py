"""Churn a real agent for a while and record its resident memory and open files from /proc.

The churn, from a seeded generator, on the four kinds of watch of workload.py: the flapping
service dies and is restarted all the time by itself; the test kills the started service
and the forking daemon, asks for restarts, pauses and resumes, reloads a changed config and
asks for status. Between two actions the test waits on the agent (a status answered),
never a blind sleep; the pace is set by a deadline per tick.

Samples are taken between actions, when no request of ours is in flight. The first
`warmup` seconds do not count (the emitter's history and the allocator fill up then); the
growth is the median of the last window minus the median of the first window after it.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Tuple

from procguard.control.client import request

from .agent import Agent, kill_if_alive
from .bounds import fds_of, rss_of
from .workload import Workload, reap_own_children

TICK = 0.5  # seconds between two actions


@dataclass
class SoakFigures:
    seconds: float
    warmup: float
    samples: List[Tuple[float, int, int]] = field(default_factory=list)  # (t, rss bytes, fds)
    actions: Dict[str, int] = field(default_factory=dict)
    agent_restarts: int = 0

    def _window(self, first: bool) -> List[Tuple[float, int, int]]:
        after = [s for s in self.samples if s[0] >= self.warmup]
        span = max(60.0, (self.seconds - self.warmup) / 6)
        if first:
            return [s for s in after if s[0] < self.warmup + span] or after[:1]
        return [s for s in after if s[0] >= self.seconds - span] or after[-1:]

    def median(self, first: bool, column: int) -> float:
        return statistics.median(s[column] for s in self._window(first))

    @property
    def rss_growth(self) -> float:
        return self.median(False, 1) - self.median(True, 1)

    @property
    def fd_change(self) -> float:
        return self.median(False, 2) - self.median(True, 2)

    def as_dict(self) -> Dict[str, Any]:
        return {"seconds": round(self.seconds), "warmup": self.warmup, "samples": len(self.samples),
                "rss_start": self.median(True, 1), "rss_end": self.median(False, 1),
                "rss_growth": self.rss_growth, "fd_start": self.median(True, 2), "fd_end": self.median(False, 2),
                "fd_change": self.fd_change, "fd_max": max(s[2] for s in self.samples),
                "actions": self.actions, "agent_restarts": self.agent_restarts,
                "series": [[round(t), rss, fds] for t, rss, fds in self.samples]}


class Soak:
    def __init__(self, agent: Agent, workload: Workload, seed: int, sample_every: float) -> None:
        self.agent = agent
        self.workload = workload
        self.rng = random.Random(seed)
        self.sample_every = sample_every
        self.variant = 0
        # action -> weight; the flapping service churns by itself on top of these
        self.actions: Dict[str, Tuple[int, Callable[[], None]]] = {
            "status": (12, self._status),
            "kill_started": (2, lambda: self._kill("started")),
            "kill_daemon": (1, lambda: self._kill("daemon")),
            "restart": (1, lambda: self._ask(cmd="restart", watch="started")),
            "pause_resume": (1, self._pause_resume),
            "reload": (1, self._reload),
        }

    def _status(self) -> None:
        self.agent.status()

    def _kill(self, kind: str) -> None:
        for pid in self.workload.census()[kind]:
            kill_if_alive(pid)

    def _ask(self, **message: Any) -> None:
        """What `procguard CMD` sends, without starting a Python for it at every tick."""
        reply = request(message, self.agent.socket, timeout=30)
        assert reply.get("ok"), reply

    def _pause_resume(self) -> None:
        self._ask(cmd="pause", watch="started", **{"for": 30})
        self._ask(cmd="resume", watch="started")

    def _reload(self) -> None:
        self.variant += 1
        self.agent.write_config(self.workload.config(self.variant))
        self._ask(cmd="reload")

    def _tidy(self) -> None:
        """Extra forking daemons (issue 10 item 5) must not pile up for an hour: stop them."""
        watched = set(self.agent.watch("daemon")["pids"])
        for pid in self.workload.census()["daemon"]:
            if pid not in watched:
                kill_if_alive(pid)
        reap_own_children()

    def run(self, seconds: float, warmup: float) -> SoakFigures:
        figures = SoakFigures(seconds=seconds, warmup=warmup)
        assert self.agent.proc is not None
        pid = self.agent.proc.pid
        names = sorted(self.actions)
        weights = [self.actions[n][0] for n in names]
        started = time.monotonic()
        next_sample = 0.0
        while (now := time.monotonic() - started) < seconds:
            name = self.rng.choices(names, weights)[0]
            self.actions[name][1]()
            figures.actions[name] = figures.actions.get(name, 0) + 1
            self.agent.status()  # the action is through: the agent answers again
            if now >= next_sample:
                self._tidy()
                rss, fds = rss_of(pid), fds_of(pid)
                assert rss is not None and fds is not None, f"the agent is gone:\n{self.agent.stderr()[-3000:]}"
                figures.samples.append((now, rss, fds))
                next_sample = now + self.sample_every
            pause = TICK - (time.monotonic() - started - now)
            if pause > 0:
                time.sleep(pause)  # the pace of the churn, not a wait for a condition
        figures.seconds = time.monotonic() - started
        return figures


def write_soak(path: str, figures: SoakFigures) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(figures.as_dict(), handle)
        handle.write("\n")
