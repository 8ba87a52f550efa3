#!/usr/bin/env python3
"""procguard, supervisord and monit on one workload, in one run.

For each N (default 1, 100, 500 watched `sleep` processes): procguard through
restart_latency.run_procguard (under --procguard-python, by default Debian's /usr/bin/python3
with the distro's PyYAML/cryptography/requests, as the Ansible role deploys it), then
supervisord and monit through peers.py. Same kill count and idle window for all three.

Run: make bench-all   (scripts/bench-setup.sh, then this script)
     python3 benchmarks/run_all.py [--quick] [--sizes 1,100,500] [--kills 20] [--idle 60]
Writes benchmarks/results/all.json and prints one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402
import restart_latency  # noqa: E402

Result = Dict[str, object]
TOOLS = ("procguard", "supervisord", "monit")


def python_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def host_processes() -> int:
    return len([d for d in os.listdir("/proc") if d.isdigit()])


def loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def ms(v: float) -> str:
    return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"


def table(results: List[Result]) -> str:
    rows = ["| N | tool | death → replacement running, median | p95 | peer median ÷ procguard median "
            "| idle CPU, % of a core | RSS, MiB |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    sizes = sorted({int(r["n"]) for r in results})  # type: ignore[call-overload]
    for n in sizes:
        by_tool = {r["tool"]: r for r in results if r["n"] == n}
        base: Optional[float] = None
        if "procguard" in by_tool:
            base = by_tool["procguard"]["replace_ms"]["median"]  # type: ignore[index]
        for tool in TOOLS:
            r = by_tool.get(tool)
            if r is None:
                continue
            rep = r["replace_ms"]
            med, p95 = rep["median"], rep["p95"]  # type: ignore[index]
            ratio = "1 (baseline)" if tool == "procguard" else (f"{med / base:,.0f}x" if base else "—")
            rows.append(f"| {n} | {tool} | {ms(med)} ms | {ms(p95)} ms | {ratio} | "
                        f"{r['idle_cpu_percent']:.3f} | {r['rss_mib']:.1f} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    peers.add_arguments(parser)
    parser.add_argument("--procguard-python", default="/usr/bin/python3",
                        help="interpreter for the procguard agent (default /usr/bin/python3)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="subset of procguard,supervisord,monit")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "all.json"))
    args = parser.parse_args()
    peers.apply_quick(args)
    peers.set_subreaper()  # orphaned services become ours to reap (PID 1 here doesn't)
    tools = args.tools.split(",")
    supervisord = args.supervisord or peers.default_supervisord()
    monit = args.monit or peers.default_monit()
    if "supervisord" in tools and not supervisord:
        raise SystemExit("run_all: no supervisord; run scripts/bench-setup.sh")
    if "monit" in tools and not monit:
        raise SystemExit("run_all: no monit; run scripts/bench-setup.sh")
    meta: Dict[str, object] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
        "kernel": platform.release(), "os": platform.freedesktop_os_release().get("PRETTY_NAME", "")
        if hasattr(platform, "freedesktop_os_release") else "",
        "procguard_python": f"{args.procguard_python} {python_version(args.procguard_python)}",
        "kills": args.kills, "idle_seconds": args.idle, "sizes": args.sizes,
        "host_processes_at_start": host_processes(), "loadavg_at_start": loadavg(),
    }
    if supervisord:
        meta["supervisord"] = f"{supervisord} ({peers.supervisord_version(supervisord)})"
    if monit:
        meta["monit"] = f"{monit} ({peers.monit_version(monit)})"
    results: List[Result] = []
    for n in (int(s) for s in args.sizes.split(",")):
        for tool in tools:
            print(f"run_all: N={n} {tool} ...", file=sys.stderr, flush=True)
            if tool == "procguard":
                r = dict(restart_latency.run_procguard(n, args.kills, args.idle, args.procguard_python))
            elif tool == "supervisord":
                r = peers.run_supervisord(n, args.kills, args.idle, supervisord)
            elif tool == "monit":
                r = peers.run_monit(n, args.kills, args.idle, monit)
            else:
                raise SystemExit(f"run_all: unknown tool {tool!r}")
            r["tool"] = tool
            results.append(r)
            rep = r["replace_ms"]
            print(f"run_all: N={n} {tool}: replacement median {rep['median']:.2f} ms, "  # type: ignore[index]
                  f"p95 {rep['p95']:.2f} ms, idle CPU {r['idle_cpu_percent']:.3f} %, "
                  f"RSS {r['rss_mib']:.1f} MiB", file=sys.stderr, flush=True)
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta["loadavg_at_end"] = loadavg()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"meta": meta, "results": results}, handle, indent=2)
    print(f"{meta['started']}, {meta['cpus']} CPUs, kernel {meta['kernel']}, {args.kills} kills per row, "
          f"idle {args.idle:.0f} s\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
