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
from .metrics import disturbed
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
    run.add_argument("--retry-disturbed", type=int, default=1, metavar="N",
                     help="run an episode again, up to N times, when its baseline was not healthy "
                          "(failures or p99 over 0.5 s before the fault: the machine was busy)")
    run.add_argument("--sole-unhealthy", default="up", choices=["up", "drain"],
                     help="procguard's agent-check answer for a server alone in its backend while it "
                          "restarts (default up; drain is the listener's default, for comparison)")
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
    # Root runs what the lab writes: the agent refuses programs, configs and settings that
    # group or others can write, so nothing may depend on the caller's umask.
    os.umask(0o022)
    tag = f"{os.getpid() % 100000}"
    root = tempfile.mkdtemp(prefix=f"pglab-{tag}-", dir="/var/tmp")
    lab = LabContext(root, tag, args.sole_unhealthy)
    atexit.register(lab.close)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    chosen = episodes(args.short)
    if args.episodes:
        wanted = set(args.episodes.split(","))
        chosen = [e for e in chosen if e.key in wanted]
    results: List[Dict[str, Any]] = []
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    if not args.merge:            # runs/ holds this run only (the plots read every file there)
        for name in os.listdir(os.path.join(args.out, "runs")):
            if name.endswith(".json"):
                os.unlink(os.path.join(args.out, "runs", name))
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
                    result = run_disturbed_again(lab, contender, episode, args)
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
            "uname": " ".join(os.uname()), "cpus": os.cpu_count(), "short": args.short,
            "sole_unhealthy": args.sole_unhealthy, "load_before": load_before}
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


def run_disturbed_again(lab: LabContext, contender: Any, episode: Any, args: argparse.Namespace) -> Dict[str, Any]:
    """One episode, run again (up to --retry-disturbed times) while its baseline shows the
    machine, not the fault, at work; the result says how many attempts it took and why."""
    t = time.monotonic()
    earlier: List[str] = []
    while True:
        result = run_episode(lab, contender, episode, args.rate, args.seed)
        why = "" if result.get("error") else disturbed(result)
        if not why or len(earlier) >= args.retry_disturbed:
            break
        earlier.append(why)
        print(f"lab: {contender.name} {episode.key}: baseline disturbed ({why}); running it again",
              file=sys.stderr, flush=True)
    result["attempts"] = len(earlier) + 1
    if earlier:
        result["disturbed_before"] = earlier
    if why:
        result["disturbed"] = why
    result["took_s"] = round(time.monotonic() - t, 1)
    return result


RUN_ONLY = ("series", "haproxy_timeline", "failed_requests", "delayed_requests")


def strip(result: Dict[str, Any]) -> Dict[str, Any]:
    """The summary file keeps the figures; the 100 ms series stay in runs/."""
    out = dict(result)
    out.pop("agent_events", None)
    out["targets"] = {k: {f: v for f, v in t.items() if f not in RUN_ONLY}
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
                     f"first fail {t['first_failure_s']} back {t['recovered_s']} p99ok {t['p99_normal_after_s']} "
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
