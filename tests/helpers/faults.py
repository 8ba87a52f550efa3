"""SIGKILL the real agent at random (seeded) moments, start a new one on the same state
directory, and count what went wrong for each kind of watch (workload.py).

Moments, drawn from the seeded generator:
- start:   a fresh agent, killed within its first START_WINDOW seconds (reading and checking
           the config, adopting, starting); one time in three the forking daemon died while
           no agent ran, so the agents that follow must start it;
- restart: just after a service died, while the agent restarts it: the flapping service's
           own death, or the forking daemon killed by the test (then the agent runs the
           start script again, which must end with one daemon adopted);
- reload:  just after SIGHUP, while the checking child judges the changed config and the
           agent puts it in force.
The random delays are the fault's timing, not waits for a condition: every wait for the
agent is a condition with a deadline.

After each kill the next agent must settle within SETTLE seconds; then, per kind:
- duplicates: live processes beyond the one allowed (counted from /proc, not from status);
  the extras are then stopped so that the next round starts clean;
- lost: the watch is not running (or, flapping, not cycling) with its process;
- zombies: processes left as Z under the test's tree (the test, a child subreaper, reaps
  its own children as PID 1 would).
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from .agent import Agent, kill_if_alive
from .wait import wait_until
from .workload import KINDS, Workload, reap_own_children, zombies_below

START_WINDOW = 0.6   # seconds after the agent's exec
RESTART_WINDOW = {"flapping": 0.1, "daemon": 0.3}  # seconds after the death
RELOAD_WINDOW = 0.4   # seconds after SIGHUP
SETTLE = 10.0         # seconds a new agent may take to have every watch back
DAEMON_DOWN = 0.35    # share of start moments with the forking daemon killed too
FLAPPING_OK = ("running", "starting", "backoff", "stopping")


@dataclass
class Figures:
    faults: int = 0
    by_moment: Dict[str, int] = field(default_factory=dict)
    duplicates: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    lost: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    zombies: int = 0
    seconds: float = 0.0
    seed: int = 0
    details: List[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.details) < 40:
            self.details.append(text)

    def as_dict(self) -> Dict[str, Any]:
        return {"faults": self.faults, "by_moment": self.by_moment, "duplicates": self.duplicates,
                "lost": self.lost, "zombies": self.zombies, "seconds": round(self.seconds, 1),
                "seed": self.seed, "details": self.details}


class Campaign:
    def __init__(self, agent: Agent, workload: Workload, seed: int) -> None:
        self.agent = agent
        self.workload = workload
        self.rng = random.Random(seed)
        self.figures = Figures(seed=seed)
        self.variant = 0
        self.round = 0
        self.kept_logs: Set[int] = set()  # rounds whose agent logs show a problem

    # ---------------------------------------------------------------- the agent
    def _start(self) -> None:
        self.round += 1
        self.agent.stderr_path = os.path.join(self.agent.directory, f"agent-{self.round}.stderr")
        self.agent.start(wait=False)

    def _kill(self, moment: str) -> None:
        assert self.agent.proc is not None
        self.agent.proc.send_signal(signal.SIGKILL)
        self.agent.proc.wait(20)
        self.figures.faults += 1
        self.figures.by_moment[moment] = self.figures.by_moment.get(moment, 0) + 1

    # ---------------------------------------------------------------- moments
    def _kill_during_start(self) -> None:
        self._kill("steady")
        if self.rng.random() < DAEMON_DOWN:
            for pid in self.workload.census()["daemon"]:
                kill_if_alive(pid)
        self._start()
        time.sleep(self.rng.uniform(0, START_WINDOW))  # the fault's moment, drawn from the seed: not a wait
        self._kill("start")

    def _kill_mid_restart(self) -> None:
        which = self.rng.choice(["daemon", "flapping"])
        seen = len(self._deaths(which))
        if which == "daemon":
            for pid in self.workload.census()["daemon"]:
                kill_if_alive(pid)
        try:
            wait_until(lambda: len(self._deaths(which)) > seen, 10, interval=0.005, what=f"{which} to die")
        except AssertionError:  # the agent was not watching it: say so, and kill all the same
            self.figures.note(f"round {self.round}: no death of {which} seen by the agent within 10s")
        time.sleep(self.rng.uniform(0, RESTART_WINDOW[which]))  # the fault's moment, drawn from the seed: not a wait
        self._kill(f"restart:{which}")

    def _kill_during_reload(self) -> None:
        self.variant += 1
        self.agent.write_config(self.workload.config(self.variant))
        self.agent.send(signal.SIGHUP)
        time.sleep(self.rng.uniform(0, RELOAD_WINDOW))  # the fault's moment, drawn from the seed: not a wait
        self._kill("reload")

    def _deaths(self, watch: str) -> List[str]:
        return [e for e in self.agent.events("PG1005") if f"watch={watch} " in e]

    # ---------------------------------------------------------------- counting
    def _fine(self, kind: str, w: Dict[str, Any], census: Dict[str, List[int]], flapping_seen: bool) -> bool:
        if kind == "flapping":
            return w["state"] in FLAPPING_OK and flapping_seen
        if kind == "adopted":
            return w["state"] == "running" and self.workload.external is not None \
                and w["pids"] == [self.workload.external.pid]
        return w["state"] == "running" and len(w["pids"]) == 1 and w["pids"][0] in census[kind]

    def _settled(self, seen: Dict[str, bool]) -> Optional[Dict[str, Any]]:
        watches = {w["name"]: w for w in self.agent.status()["watches"]}
        if watches["flapping"]["state"] in FLAPPING_OK and watches["flapping"]["pids"]:
            seen["flapping"] = True
        census = self.workload.census()
        fine = all(self._fine(kind, watches[kind], census, seen["flapping"]) for kind in KINDS)
        return watches if fine else None

    def _count(self, label: str) -> None:
        self.agent.wait_up()
        seen = {"flapping": False}
        noted = len(self.figures.details)
        try:
            watches = wait_until(lambda: self._settled(seen), SETTLE, interval=0.02, what="every watch back")
        except AssertionError:
            watches = {w["name"]: w for w in self.agent.status()["watches"]}
            census = self.workload.census()
            for kind in KINDS:
                if not self._fine(kind, watches[kind], census, seen["flapping"]):
                    self.figures.lost[kind] += 1
                    self.figures.note(f"{label}: lost {kind}: state={watches[kind]['state']} "
                                      f"pids={watches[kind]['pids']} running={census[kind]}")
        self._duplicates(label, watches)
        self._zombies(label)
        if len(self.figures.details) > noted:
            self.kept_logs.update({self.round - 2, self.round - 1, self.round})

    def _duplicates(self, label: str, watches: Dict[str, Any]) -> None:
        for kind, pids in self.workload.census().items():
            if len(pids) <= 1:
                continue
            self.figures.duplicates[kind] += len(pids) - 1
            watched = set(watches[kind]["pids"])
            self.figures.note(f"{label}: {len(pids)} {kind} processes {pids}, watched {sorted(watched)}")
            for pid in pids:
                if pid not in watched and (self.workload.external is None or pid != self.workload.external.pid):
                    kill_if_alive(pid)

    def _zombies(self, label: str) -> None:
        reap_own_children()
        found = zombies_below(os.getpid())
        if not found:
            return
        try:  # a child that exits this instant is a zombie until its parent reaps it
            wait_until(lambda: not set(found) & set(zombies_below(os.getpid())), 2.0, what="zombies reaped")
        except AssertionError:
            stuck = sorted(set(found) & set(zombies_below(os.getpid())))
            self.figures.zombies += len(stuck)
            self.figures.note(f"{label}: zombies (pid, parent) {stuck}")

    # ---------------------------------------------------------------- the campaign
    def run(self, kills: int) -> Figures:
        started = time.monotonic()
        self.workload.start_adopted()
        self.agent.write_config(self.workload.config(self.variant))
        self._start()
        self._count("first start")
        moments = {"start": self._kill_during_start, "restart": self._kill_mid_restart,
                   "reload": self._kill_during_reload}
        while self.figures.faults < kills:
            moment = self.rng.choice(sorted(moments))
            self.agent.wait_up()
            moments[moment]()
            self._start()
            self._count(f"round {self.round} after a kill at {moment}")
            self._remove_old_logs()
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def _remove_old_logs(self) -> None:
        """Keep the agents' logs of the rounds with a problem, and the current one."""
        for done in range(max(1, self.round - 3), self.round):
            path = os.path.join(self.agent.directory, f"agent-{done}.stderr")
            if done not in self.kept_logs and os.path.exists(path):
                os.unlink(path)


def write_figures(path: str, figures: Figures) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(figures.as_dict(), handle, indent=1)
        handle.write("\n")
