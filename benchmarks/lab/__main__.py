"""`python -m lab` (from benchmarks/, as root): build the lab, run every episode for every
contender, write docs/lab/. `python -m lab cleanup` removes what a crashed run left."""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import random
import signal
import sys
import tempfile
import time
from typing import Any, Dict, List

from .contenders import CONTENDERS
from .context import LabContext
from .registry import cleanup_all
from .runner import run_episode
from .scenarios import episodes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab")
    sub = parser.add_subparsers(dest="cmd")
    run = sub.add_parser("run", help="run the lab")
    run.add_argument("--contenders", default=",".join(CONTENDERS))
    run.add_argument("--episodes", default="", help="comma-separated keys (lb/kill_web,...); default all")
    run.add_argument("--short", action="store_true", help="the three episodes of the short form")
    run.add_argument("--rate", type=float, default=100.0, help="requests/s per target (two targets on HAProxy)")
    run.add_argument("--seed", type=int, default=14)
    run.add_argument("--out", default=os.path.join(REPO, "docs", "lab"))
    run.add_argument("--no-report", action="store_true")
    run.add_argument("--merge", action="store_true",
                     help="keep the other results already in OUT/lab.json (re-run some episodes only)")
    sub.add_parser("cleanup", help="remove what an interrupted run left (processes, namespaces, containers)")
    args = parser.parse_args(argv)
    if args.cmd is None:
        parser.print_help()
        raise SystemExit(2)
    return args


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("lab: needs root (network namespaces, veth pairs)", file=sys.stderr)
        return 2
    random.seed(args.seed)
    tag = f"{os.getpid() % 100000}"
    root = tempfile.mkdtemp(prefix=f"pglab-{tag}-", dir="/var/tmp")
    lab = LabContext(root, tag)
    atexit.register(lab.close)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    chosen = episodes(args.short)
    if args.episodes:
        wanted = set(args.episodes.split(","))
        chosen = [e for e in chosen if e.key in wanted]
    results: List[Dict[str, Any]] = []
    started = time.monotonic()
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    try:
        lab.topology.create()
        for name in args.contenders.split(","):
            contender = CONTENDERS[name](lab)
            why = contender.available()
            if why:
                print(f"lab: {name} skipped: {why}", file=sys.stderr)
                results.append({"contender": name, "skipped": why})
                continue
            try:
                for episode in chosen:
                    t = time.monotonic()
                    result = run_episode(lab, contender, episode, args.rate, args.seed)
                    result["took_s"] = round(time.monotonic() - t, 1)
                    results.append(result)
                    write_run(args.out, result)
                    print(summary_line(result), flush=True)
            finally:
                contender_close = getattr(contender, "close", None)
                if contender_close:
                    contender_close()
    except KeyboardInterrupt:
        print("lab: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        done = lab.close()
        print(f"lab: cleaned up {len(done)} items", file=sys.stderr)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "took_s": round(time.monotonic() - started, 1), "seed": args.seed, "rate_per_target": args.rate,
            "uname": " ".join(os.uname()), "cpus": os.cpu_count(), "short": args.short}
    summary = [strip(r) for r in results]
    path = os.path.join(args.out, "lab.json")
    if args.merge and os.path.exists(path):
        with open(path) as handle:
            before = json.load(handle)
        fresh = {(r["contender"], r.get("scenario"), r.get("fault")) for r in summary}
        summary = [r for r in before["results"] if (r["contender"], r.get("scenario"), r.get("fault")) not in fresh]
        summary += [strip(r) for r in results]
        meta = {**before["meta"], "merged": meta}
    with open(path, "w") as handle:
        json.dump({"meta": meta, "results": summary}, handle, indent=1)
    if not args.no_report:
        from .report import write_report
        write_report(args.out)
    errors = [r for r in results if r.get("error")]
    return 1 if errors else 0


def strip(result: Dict[str, Any]) -> Dict[str, Any]:
    """The summary file keeps the figures; the 100 ms series stay in runs/."""
    out = dict(result)
    out["targets"] = {k: {f: v for f, v in t.items() if f not in ("series", "haproxy_timeline")}
                      for k, t in result.get("targets", {}).items()}
    return out


def write_run(out: str, result: Dict[str, Any]) -> None:
    name = f"{result['contender']}--{result['scenario']}-{result['fault']}.json"
    with open(os.path.join(out, "runs", name), "w") as handle:
        json.dump(result, handle, indent=None, separators=(",", ":"))


def summary_line(r: Dict[str, Any]) -> str:
    if r.get("error"):
        return f"{r['contender']:12} {r['scenario']}/{r['fault']:15} ERROR {r['error']}"
    parts = []
    for name, t in r.get("targets", {}).items():
        parts.append(f"{name}: failed {t['failed']} delayed {t['delayed_over_0_5s']} "
                     f"back {t['first_success_from_faulty_s']} p99ok {t['p99_normal_after_s']} "
                     f"extra {t['extra_on_others']} out {t.get('haproxy_out_s')}")
    extra = ""
    if "hang_ended_s" in r:
        extra += f" hang_ended {r['hang_ended_s']}"
    if "vip_moved_s" in r:
        extra += f" vip_moved {r['vip_moved_s']}"
    return f"{r['contender']:12} {r['scenario']}/{r['fault']:15} ({r['took_s']} s) " + " | ".join(parts) + extra


def main(argv: List[str]) -> int:
    args = parse(argv)
    if args.cmd == "cleanup":
        for line in cleanup_all():
            print(f"lab: {line}")
        return 0
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
