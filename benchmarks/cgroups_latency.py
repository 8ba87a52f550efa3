#!/usr/bin/env python3
"""Death to replacement with a cgroup per watch, against process groups (issue 11: at most
1.5 times), all three agents side by side so that they share the machine's load.

Three agents start at once, N watches each (`sleep`, as in restart_latency.py), metrics
off: `off` (process groups), `on` (a cgroup per watch, as the agent runs by default: the
replacement is the watch's prepared start, already in its cgroup, let through its gate) and
`unprepared` (a cgroup per watch without prepared starts: each new process is moved into
its cgroup before it execs, which waits for the kernel's RCU grace period). Kills go round
the three agents in turn, one at a time, so each sees the same load. For every kill:
  death -> detection    the agent's PG1005
  death -> PG1004       the agent's "process started"
  death -> exec'd       the replacement's exec, from the kernel's process events connector
                        (proc_events.py, CLOCK_MONOTONIC): with a prepared start PG1004
                        comes when the gate opens, a moment before the exec, so the ratio is
                        taken on this column, the same way for every agent.

Run as root: make bench-cgroups (part of make bench), or
  .venv/bin/python benchmarks/cgroups_latency.py --sizes 1,100,500 --kills 30
Writes benchmarks/results/cgroups_latency.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import cgroup_dirs
from proc_events import ExecEvents
from restart_latency import EventTail, percentile, reap, rss_kib, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODES = {"off": "process group", "on": "cgroup", "unprepared": "cgroup, no prepared start"}


class Run:
    """One agent with N watches, in one process-tree mode."""

    def __init__(self, mode: str, n: int, python: str) -> None:
        self.mode, self.n = mode, n
        self.tag = str(600000 + random.randrange(99999))
        self.work = tempfile.mkdtemp(prefix=f"pg-cgbench-{mode}-{n}-")
        self.cgroup_path = cgroup_dirs.path_for(self.work)
        self.argvs = {f"w{i}": ["/bin/sleep", f"{self.tag}{i:03d}"] for i in range(n)}
        watches = [{"name": name, "start": {"argv": argv, "ready": {"alive_for": 0}},
                    "restart": {"max_restarts": 10000, "window": "60s", "backoff": {"reset_after": "20ms"}}}
                   for name, argv in self.argvs.items()]
        config, settings = os.path.join(self.work, "watches.yaml"), os.path.join(self.work, "agent.yaml")
        with open(config, "w") as handle:
            json.dump({"version": 1, "watches": watches}, handle)
        with open(settings, "w") as handle:  # JSON is YAML
            json.dump({"metrics": {"enabled": False},
                       "cgroups": {"mode": "off"} if mode == "off" else {"prepare": mode == "on"}}, handle)
        tree = [] if mode == "off" else ["--cgroup-path", self.cgroup_path]
        self.stderr = os.path.join(self.work, "agent.stderr")
        with open(self.stderr, "w") as err:
            self.agent = subprocess.Popen(
                [python, "-m", "procguard.cli.main", "agent", "--config", config, "--settings", settings,
                 "--allow-unsigned", "--state-dir", os.path.join(self.work, "state"),
                 "--socket", os.path.join(self.work, "ctl.sock"), "--syslog-socket", "", "--journald-socket", "",
                 "--monotonic-stamps", *tree], stderr=err, env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent")))
        self.tail = EventTail(self.stderr)
        self.pids: Dict[str, int] = {}
        self.samples: Dict[str, List[float]] = {"detect": [], "started": [], "execd": []}

    def wait_started(self) -> None:
        def all_started() -> bool:
            self.tail.poll()
            for _t, eid, watch, pid in self.tail.events:
                if eid == "PG1004":
                    self.pids[watch] = pid
            return len(self.pids) == self.n and "PG1001" in open(self.stderr).read()
        wait_for(all_started, 180, f"{self.n} processes of the {self.mode} agent")

    def kill_one(self, k: int, execs: ExecEvents) -> None:
        watch = f"w{k % self.n}"
        pid = self.pids[watch]
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)

        def replaced() -> Any:
            self.tail.poll()
            return self.tail.find("PG1004", watch, t0)
        t_start, new_pid = wait_for(replaced, 10, f"replacement of {watch} ({self.mode})")
        died = self.tail.find("PG1005", watch, t0, pid)
        assert died is not None, "the death event precedes the start event"
        wait_for(lambda: cmdline(new_pid) == self.argvs[watch], 5, f"{new_pid} running its program")
        execd = wait_for(lambda: execs.last_exec(new_pid, t0), 5, f"the exec of {new_pid}")
        self.samples["detect"].append((died[0] - t0) * 1000)
        self.samples["started"].append((t_start - t0) * 1000)
        self.samples["execd"].append((execd - t0) * 1000)
        self.pids[watch] = new_pid

    def result(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"n": self.n, "mode": self.mode, "kills": len(self.samples["execd"]),
                               "rss_mib": rss_kib(self.agent.pid) / 1024}
        for key, values in self.samples.items():
            out[key] = {"median": statistics.median(values), "p95": percentile(values, 0.95)}
        return out

    def stop(self) -> None:
        self.agent.send_signal(signal.SIGTERM)
        self.agent.wait(30)
        for pid in self.pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()
        if self.mode != "off":
            cgroup_dirs.remove(self.cgroup_path)
        shutil.rmtree(self.work, ignore_errors=True)


def cmdline(pid: int) -> List[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode() for part in handle.read().rstrip(b"\0").split(b"\0")]
    except OSError:
        return []


def compare(n: int, kills: int, python: str, execs: ExecEvents) -> List[Dict[str, Any]]:
    runs = [Run(mode, n, python) for mode in MODES]
    try:
        for run in runs:
            run.wait_started()
        time.sleep(1.0 + n * 0.01)  # every prepared start in place
        for k in range(kills):
            for run in (runs[k % 3:] + runs[:k % 3]):  # each agent first in turn
                run.kill_one(k, execs)
            time.sleep(0.05)  # let the starts count as good and the backoffs reset
        return [run.result() for run in runs]
    finally:
        for run in runs:
            run.stop()


def table(results: List[Dict[str, Any]]) -> str:
    rows = ["| N | process tree | death → detection | death → PG1004 | death → replacement exec'd "
            "| exec'd ÷ process group | RSS |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    base = {r["n"]: r["execd"]["median"] for r in results if r["mode"] == "off"}
    for r in results:
        ratio = "1" if r["mode"] == "off" else f"{r['execd']['median'] / base[r['n']]:.2f}"
        cells = [f"{r[k]['median']:.2f} / {r[k]['p95']:.2f} ms" for k in ("detect", "started", "execd")]
        rows.append(f"| {r['n']} | {MODES[r['mode']]} | {' | '.join(cells)} | {ratio} | {r['rss_mib']:.1f} MiB |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100,500")
    parser.add_argument("--kills", type=int, default=30, help="kills per agent and size")
    parser.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "cgroups_latency.json"))
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # orphaned services become ours to reap
    execs = ExecEvents()
    loads = [os.getloadavg()[0]]
    results = [r for n in args.sizes.split(",") for r in compare(int(n), args.kills, args.python, execs)]
    loads.append(os.getloadavg()[0])
    execs.close()
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
            "kernel": os.uname().release, "load_average_1m": loads}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"meta": meta, "results": results}, handle, indent=2)
    print(table(results))
    print(f"\nload average (1 min) at start and end: {loads[0]:.2f}, {loads[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
