#!/usr/bin/env python3
"""Do hung event hooks delay death detection? (issue 12)

Runs the real agent twice on the restart_latency.py workload (N `sleep` watches, one SIGKILL
at a time, the next after the replacement is up): once without hooks, once with two hooks on
every death and every start that never finish on their own: a command (`/bin/sleep` for
days) and a URL hook against a loopback server that accepts and never answers, both with
the longest timeout (300 s). So all four hook workers hang from the first kill on and the
queue fills and drops (PG7011). Prints death -> detection and death -> replacement, median
and p95, for both runs, and the agent's RSS.

The URL hook POSTs from a child of the agent's interpreter, which needs `requests`: give
--python an interpreter that has it (Debian: apt-get install python3-requests).

    /usr/bin/python3 benchmarks/hooks_load.py [--watches 100] [--kills 30] [--python PY] [--json]
Writes benchmarks/results/hooks_load.json.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import signal
import sys
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import restart_latency  # noqa: E402  (the workload and its measurements)
from probes_load import HangingServer  # noqa: E402  (accepts, never answers)


def hung_hooks(port: int, days: str) -> List[Dict[str, object]]:
    events = ["PG1005", "PG1004"]
    return [{"name": "hung-command", "events": events, "command": ["/bin/sleep", days], "timeout": "300s"},
            {"name": "hung-url", "events": events, "url": f"http://127.0.0.1:{port}/hook", "timeout": "300s"}]


def kill_hooks(days: str, port: int) -> int:
    """Hung hooks outlive the agent (their own sessions): stop the sleeps and the POSTing
    children by PID."""
    killed = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read()
            if argv == f"/bin/sleep\0{days}\0".encode() or f"127.0.0.1:{port}/hook".encode() in argv:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
        except OSError:
            pass
    return killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", type=int, default=100)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "hooks_load.json"))
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # orphaned services become ours to reap
    server = HangingServer()
    server.start()
    days = str(8_000_000 + random.randrange(999_999))  # seconds: a unique argv for the hung commands
    results = {}
    try:
        results["no hooks"] = restart_latency.run_procguard(args.watches, args.kills, 1.0, args.python)
        results["hung hooks"] = restart_latency.run_procguard(args.watches, args.kills, 1.0, args.python,
                                                              hooks=hung_hooks(server.port, days))
    finally:
        killed = kill_hooks(days, server.port)
        restart_latency.reap()
    results["hung hooks"]["hung_hooks_left_running"] = killed
    results["hung hooks"]["hung_connections"] = server.accepted
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
            "kernel": os.uname().release, "load": open("/proc/loadavg").read().split()[:3]}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"meta": meta, "results": results}, handle, indent=2)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| hooks | death → detection, median / p95 | death → replacement, median / p95 | RSS | hook messages |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        d, p = r["detect_ms"], r["replace_ms"]
        print(f"| {name} | {d['median']:.2f} / {d['p95']:.2f} ms | {p['median']:.2f} / {p['p95']:.2f} ms | "
              f"{r['rss_mib']:.1f} MiB | {r['hook_messages']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
