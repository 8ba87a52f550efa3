#!/usr/bin/env python3
"""How fast procguard notices a death and has a replacement running, and what it costs idle.

For N = 1, 100 and 500 watched processes (`sleep` started by the agent), kill one with
SIGKILL at a time and measure, against CLOCK_MONOTONIC (system-wide, so the agent's event
stamps and ours are on one clock):
  death -> detection    the agent's PG1005 "process died" event
  death -> replacement  the agent's PG1004 "process started" event, emitted once the new
                        process has exec'd (Popen returns after exec succeeded)
Then, with nothing happening, the agent's CPU time over --idle seconds and its RSS.
Each size runs once per --metrics variant, in the same run: `off` (metrics.enabled: false),
`textfile` (the default way out: node_exporter's textfile, the agent's file every 15 s) and
`http` (the textfile and GET /metrics on loopback, scraped every 15 s during the idle
window, as Prometheus would). They run on process groups (cgroups.mode: off), as the
figures were first measured; cgroups_latency.py compares the process trees.

Run: make bench   (or .venv/bin/python benchmarks/restart_latency.py --help)
Writes benchmarks/results/restart_latency.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional, Tuple

import cgroup_dirs

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
EVENT = re.compile(r"^(?P<t>\d+\.\d+) \S+\s+(?P<id>PG\d{4}) .*?watch=(?P<watch>\S+) pid=(?P<pid>\d+)")


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class EventTail:
    """Reads the agent's stderr as it grows; indexes events by (id, watch, pid)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.events: List[Tuple[float, str, str, int]] = []

    def poll(self) -> None:
        with open(self.path, errors="replace") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
            complete = chunk[:chunk.rfind("\n") + 1]
            self.offset += len(complete.encode())
        for line in complete.splitlines():
            m = EVENT.match(line)
            if m:
                self.events.append((float(m["t"]), m["id"], m["watch"], int(m["pid"])))

    def find(self, event_id: str, watch: str, after: float, pid: Optional[int] = None) -> Optional[Tuple[float, int]]:
        for t, eid, w, p in self.events:
            if eid == event_id and w == watch and t >= after and (pid is None or p == pid):
                return t, p
        return None


def wait_for(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.002)
    raise SystemExit(f"benchmark: timed out waiting for {what}")


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


METRICS = {"off": {"enabled": False}, "textfile": {"textfile_dir": "TEXTFILE"},
           "http": {"textfile_dir": "TEXTFILE", "listen": "127.0.0.1:0"}}


def scrape(port: int) -> int:
    """GET /metrics once, as Prometheus does; the body's size."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return len(resp.read())


def agent_means(textfile: str) -> Dict[str, float]:
    """The agent's own view of the same kills: mean of its latency histograms, in ms."""
    with open(os.path.join(textfile, "procguard_agent.prom")) as handle:
        values = dict(line.rsplit(" ", 1) for line in handle if line.startswith("procguard_") and "{" not in line)
    out = {}
    for name in ("detection", "restart"):
        count = float(values.get(f"procguard_{name}_latency_seconds_count", 0))
        if count:
            out[f"agent_{name}"] = 1000 * float(values[f"procguard_{name}_latency_seconds_sum"]) / count
    return out


def run_procguard(n: int, kills: int, idle: float, python: str, metrics: str = "off",
                  hooks: Optional[List[Dict[str, object]]] = None, tree: str = "process-group") -> Dict[str, object]:
    """One agent with N watches; `hooks` go into its config (benchmarks/hooks_load.py); `tree`
    is process-group (cgroups.mode: off) or cgroup (the agent's default)."""
    tag = str(700000 + random.randrange(99999))
    work = tempfile.mkdtemp(prefix=f"pg-bench-{n}-")
    textfile = os.path.join(work, "textfile")
    os.mkdir(textfile)
    settings = os.path.join(work, "agent.yaml")
    with open(settings, "w") as handle:  # JSON is YAML
        json.dump({"metrics": {k: textfile if v == "TEXTFILE" else v for k, v in METRICS[metrics].items()},
                   **({"cgroups": {"mode": "off"}} if tree == "process-group" else {})}, handle)
    watches = [{"name": f"w{i}", "start": {"argv": ["/bin/sleep", f"{tag}{i:03d}"], "ready": {"alive_for": 0}},
                "restart": {"max_restarts": 10000, "window": "60s", "backoff": {"reset_after": "20ms"}}}
               for i in range(n)]
    config = os.path.join(work, "watches.yaml")
    with open(config, "w") as handle:
        json.dump({"version": 1, "watches": watches, **({"hooks": hooks} if hooks else {})}, handle)
    stderr_path = os.path.join(work, "agent.stderr")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"))
    cgroup_path = cgroup_dirs.path_for(work)  # removed below: the agent leaves its cgroups, by design
    with open(stderr_path, "w") as err:
        agent = subprocess.Popen(
            [python, "-m", "procguard.cli.main", "agent", "--config", config, "--allow-unsigned",
             "--state-dir", os.path.join(work, "state"), "--socket", os.path.join(work, "ctl.sock"),
             "--syslog-socket", "", "--journald-socket", "", "--settings", settings, "--monotonic-stamps",
             *(["--cgroup-path", cgroup_path] if tree == "cgroup" else [])],
            stderr=err, env=env)
    tail = EventTail(stderr_path)
    pids: Dict[str, int] = {}
    try:
        def all_started() -> bool:
            tail.poll()
            for _t, eid, watch, pid in tail.events:
                if eid == "PG1004":
                    pids[watch] = pid
            return len(pids) == n and bool(tail.find("PG1001", "", 0) or "PG1001" in open(stderr_path).read())
        wait_for(all_started, 120, f"{n} processes to start")
        time.sleep(1.0)
        detect, replace = [], []
        for k in range(kills):
            watch = f"w{k % n}"
            pid = pids[watch]
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)

            def replaced(watch: str = watch, pid: int = pid, t0: float = t0) -> Optional[Tuple[float, int]]:
                tail.poll()
                return tail.find("PG1004", watch, t0)
            t_start, new_pid = wait_for(replaced, 10, f"replacement of {watch}")
            died = tail.find("PG1005", watch, t0, pid)
            assert died is not None, "the death event precedes the start event"
            detect.append((died[0] - t0) * 1000)
            replace.append((t_start - t0) * 1000)
            pids[watch] = new_pid
            time.sleep(0.05)  # let the start count as good and the backoff reset
        time.sleep(2.0)
        port = None
        if metrics == "http":
            found = re.search(r"PG7001 metrics served address=127\.0\.0\.1:(\d+)", open(stderr_path).read())
            assert found, "the agent serves /metrics"
            port = int(found[1])
        before, t_before = cpu_ticks(agent.pid), time.monotonic()
        scraped = 0
        while time.monotonic() - t_before < idle:
            if port is not None:
                scraped = scrape(port)
            time.sleep(min(15.0, max(0.0, idle - (time.monotonic() - t_before))))
        used = (cpu_ticks(agent.pid) - before) / CLK_TCK
        wall = time.monotonic() - t_before
        return {
            "n": n, "kills": kills, "metrics": metrics, "tree": tree, "scrape_bytes": scraped,
            "mean_ms": {"detect": statistics.mean(detect), "replace": statistics.mean(replace),
                        **(agent_means(textfile) if metrics != "off" else {})},
            "detect_ms": {"median": statistics.median(detect), "p95": percentile(detect, 0.95)},
            "replace_ms": {"median": statistics.median(replace), "p95": percentile(replace, 0.95)},
            "idle_cpu_percent": 100 * used / wall, "idle_seconds": round(wall, 1),
            "rss_mib": rss_kib(agent.pid) / 1024,
            "hook_messages": {eid: open(stderr_path).read().count(f" {eid} ") for eid in ("PG7010", "PG7011")},
        }
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()
        cgroup_dirs.remove(cgroup_path)
        shutil.rmtree(work, ignore_errors=True)


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def table(results: List[Dict[str, object]]) -> str:
    rows = ["| watched N | metrics | death → detection, median / p95 | death → replacement running, median / p95 "
            "| idle CPU (% of a core) | RSS |",
            "|---|---|---|---|---|---|"]
    for r in results:
        d, p = r["detect_ms"], r["replace_ms"]
        rows.append(f"| {r['n']} | {r.get('metrics', 'off')} | {d['median']:.2f} / {d['p95']:.2f} ms | "
                    f"{p['median']:.2f} / {p['p95']:.2f} ms | "
                    f"{r['idle_cpu_percent']:.3f} % over {r['idle_seconds']:.0f} s | {r['rss_mib']:.1f} MiB |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100,500")
    parser.add_argument("--kills", type=int, default=30, help="kills per size (at least 20)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measurement")
    parser.add_argument("--metrics", default="off,textfile,http",
                        help="metrics variants to run for each size, in turn (default off,textfile,http)")
    parser.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                        help="interpreter for the agent (default: Debian's python3, as the Ansible role deploys it)")
    parser.add_argument("--tree", choices=("process-group", "cgroup"), default="process-group",
                        help="process-group (as the figures were first measured) or cgroup (the agent's default)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "restart_latency.json"))
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # orphaned services become ours to reap
    results = [run_procguard(int(n), args.kills, args.idle, args.python, metrics=m, tree=args.tree)
               for n in args.sizes.split(",") for m in args.metrics.split(",")]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
            "kernel": os.uname().release, "python": sys.version.split()[0]}
    with open(args.out, "w") as handle:
        json.dump({"meta": meta, "procguard": results}, handle, indent=2)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
