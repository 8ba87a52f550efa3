#!/usr/bin/env python3
"""The restart_latency.py workload, run against supervisord and monit.

For N watched `sleep` processes (same argv shape as the procguard run: /bin/sleep TAGnnn),
kill one at a time with SIGKILL and measure, on CLOCK_MONOTONIC:
  death -> replacement running   from the SIGKILL until a new process with the same argv
                                 exists in /proc (polled every ~1 ms: new PIDs only)
  death -> detection             supervisord only: its "exited: wN" log line (wall clock,
                                 ms resolution, mapped onto the kill's wall-clock time);
                                 monit logs with 1 s resolution, so it is not reported
Then, with nothing happening, the daemon's own CPU time over --idle seconds and its RSS.

  supervisord  nodaemon, N [program:wN] with autorestart=true, startsecs=0, logs to NONE,
               control socket (0700) in the private temp dir
  monit        -I (foreground), `set daemon 1`, N `check process wN with pidfile` whose
               `start program` is a tiny sh wrapper that starts sleep in the background and
               writes its pidfile, control socket (0600) in the private temp dir; the sleeps
               are re-parented to this process (a child subreaper), which reaps them as init
               would (PID 1 on this machine does not, and monit treats a zombie as failed)

Each peer gets a private temp dir for its config, logs, pidfiles and socket; every process
started is stopped at the end (the daemon, then anything still carrying the run's tag).

Run: scripts/bench-setup.sh; python3 benchmarks/peers.py [--quick] [--sizes 1,100,500]
Writes benchmarks/results/peers.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
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
from typing import Callable, Dict, List, Optional, Set

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36
SUPERVISOR_EXITED = re.compile(r"^(?P<date>\S+ \S+),(?P<ms>\d{3}) \S+ exited: (?P<name>\S+) ")

Result = Dict[str, object]

sys.path.insert(0, HERE)
from restart_latency import cpu_ticks, rss_kib  # noqa: E402 - the same /proc readings for every tool


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: List[float]) -> Optional[Dict[str, float]]:
    if not values:
        return None
    return {"median": statistics.median(values), "p95": percentile(values, 0.95),
            "min": min(values), "max": max(values)}


def set_subreaper() -> None:
    """Orphans (monit double-forks its start programs) become ours to reap: PID 1 here doesn't."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def read_cmdline(pid: int) -> Optional[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return None


def proc_pids() -> Set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def argv_bytes(argv: List[str]) -> bytes:
    return b"".join(a.encode() + b"\0" for a in argv)


def find_by_argv(wanted: Dict[bytes, str]) -> Dict[str, int]:
    """Full scan: watch name -> pid, for processes whose cmdline is one of `wanted`."""
    found: Dict[str, int] = {}
    for pid in proc_pids():
        cmd = read_cmdline(pid)
        if cmd in wanted:
            found[wanted[cmd]] = pid
    return found


class LogTail:
    """Lines a peer appends to its log file, read as they come."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.lines: List[str] = []

    def poll(self) -> List[str]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return self.lines
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        self.lines += complete.decode(errors="replace").splitlines()
        return self.lines

    def seen(self, text: str) -> bool:
        return any(text in line for line in self.poll())


class Replacement:
    """Waits for a new process with a given argv, reading only PIDs that are new since the kill.

    A new PID whose cmdline is still empty, the daemon's own (forked, not yet exec'd) or
    carries the run's tag (the monit wrapper before its exec) is read again on the next
    poll; any other new PID is unrelated and ignored from then on."""

    def __init__(self, tag: bytes, daemon_cmdline: bytes) -> None:
        self.tag = tag
        self.daemon_cmdline = daemon_cmdline
        self.known = proc_pids()

    def wait(self, target: bytes, timeout: float, interval: float = 0.001) -> Optional[tuple]:
        deadline = time.monotonic() + timeout
        pending: Set[int] = set()
        while True:
            now_pids = proc_pids()
            t = time.monotonic()
            fresh = (now_pids - self.known) | (pending & now_pids)
            pending = set()
            for pid in fresh:
                cmd = read_cmdline(pid)
                if cmd is None:
                    continue
                if cmd == target:
                    self.known |= now_pids
                    return t, pid
                if not cmd or cmd == self.daemon_cmdline or self.tag in cmd:
                    pending.add(pid)
                else:
                    self.known.add(pid)
            self.known |= now_pids - pending
            reap()
            if t > deadline:
                return None
            time.sleep(interval)


def kill_tagged(tag: bytes) -> int:
    """SIGKILL whatever still carries the run's tag (leftover sleeps and wrappers)."""
    killed = 0
    for pid in proc_pids():
        cmd = read_cmdline(pid)
        if cmd and tag in cmd and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        reap()
        if not any(tag in (read_cmdline(p) or b"") for p in proc_pids()):
            break
        time.sleep(0.01)
    return killed


def show_tail(path: str, lines: int = 30) -> None:
    try:
        with open(path, errors="replace") as handle:
            tail = handle.readlines()[-lines:]
    except OSError:
        return
    print(f"--- last lines of {path}", file=sys.stderr)
    sys.stderr.writelines(tail)


def stop_daemon(proc: subprocess.Popen, grace: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def wait_until(fn: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        reap()
        time.sleep(interval)
    raise RuntimeError(f"peers: timed out after {timeout:.0f} s waiting for {what}")


def measure(name: str, n: int, kills: int, idle: float, daemon: subprocess.Popen, tag: str,
            argv_of: Callable[[int], List[str]], startup_timeout: float,
            on_kill: Optional[Callable[[str, float], None]] = None,
            settled: Optional[Callable[[str, int], bool]] = None) -> Result:
    """The shared part: wait for N processes, kill `kills` of them, then measure idle."""
    wanted = {argv_bytes(argv_of(i)): f"w{i}" for i in range(n)}

    def all_running() -> Optional[Dict[str, int]]:
        if daemon.poll() is not None:
            raise RuntimeError(f"peers: {name} exited with {daemon.returncode} during start-up")
        found = find_by_argv(wanted)
        return found if len(found) == n else None
    t_start = time.monotonic()
    pids: Dict[str, int] = wait_until(all_running, startup_timeout, f"{name} to start {n} processes", 0.2)
    startup_s = time.monotonic() - t_start
    time.sleep(1.0)
    daemon_cmd = read_cmdline(daemon.pid) or b""
    replace: List[float] = []
    rng = random.Random(n)
    for k in range(kills):
        watch = f"w{k % n}"
        target = argv_bytes(argv_of(k % n))
        waiter = Replacement(tag.encode(), daemon_cmd)
        # a random phase spread over a whole 1 s loop of the peer: the previous kill ended when
        # the peer reported the replacement up, which is at a fixed point of its own loop
        time.sleep(rng.uniform(0.05, 1.05))
        wall0, t0 = time.time(), time.monotonic()
        os.kill(pids[watch], signal.SIGKILL)
        got = waiter.wait(target, timeout=30)
        if got is None:
            raise RuntimeError(f"peers: {name} did not replace {watch} within 30 s")
        t_new, new_pid = got
        replace.append((t_new - t0) * 1000)
        if on_kill:
            on_kill(watch, wall0)
        pids[watch] = new_pid
        # the next kill waits until the peer itself counts the replacement as up: monit, whose
        # start check is still waiting for this pid, would otherwise wait out its 30 s timeout
        if settled:
            wait_until(lambda w=watch, p=new_pid: settled(w, p), 30, f"{name} to report {watch} up", 0.01)
        time.sleep(0.05)
    time.sleep(2.0)
    reap()
    before, t_before = cpu_ticks(daemon.pid), time.monotonic()
    time.sleep(idle)
    used = (cpu_ticks(daemon.pid) - before) / CLK_TCK
    wall = time.monotonic() - t_before
    return {
        "peer": name, "n": n, "kills": kills, "startup_s": round(startup_s, 2),
        "replace_ms": summary(replace), "replace_samples_ms": [round(v, 2) for v in replace],
        "idle_cpu_percent": 100 * used / wall, "idle_seconds": round(wall, 1),
        "rss_mib": rss_kib(daemon.pid) / 1024,
    }


# --------------------------------------------------------------------------------- supervisord

def supervisord_version(supervisord: str) -> str:
    out = subprocess.run([supervisord, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or out.stderr.strip()


def run_supervisord(n: int, kills: int, idle: float, supervisord: str) -> Result:
    tag = str(800000 + random.randrange(99999))
    work = tempfile.mkdtemp(prefix=f"pg-bench-supervisord-{n}-")
    log = os.path.join(work, "supervisord.log")

    def argv_of(i: int) -> List[str]:
        return ["/bin/sleep", f"{tag}{i:03d}"]
    lines = [
        "[unix_http_server]", f"file={work}/supervisor.sock", "chmod=0700", "",
        "[supervisord]", "nodaemon=true", f"logfile={log}", "loglevel=info",
        f"pidfile={work}/supervisord.pid", f"childlogdir={work}", "minfds=4096", "minprocs=2048",
        # debian-style: no rotating backups
        "logfile_backups=0", "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{work}/supervisor.sock", "",
    ]
    for i in range(n):
        lines += [f"[program:w{i}]", "command=" + " ".join(argv_of(i)), "autostart=true",
                  "autorestart=true", "startsecs=0", "startretries=3",
                  "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
    conf = os.path.join(work, "supervisord.conf")
    with open(conf, "w") as handle:
        handle.write("\n".join(lines))
    detect: List[float] = []
    kills_wall: Dict[str, List[float]] = {}

    def on_kill(watch: str, wall0: float) -> None:
        kills_wall.setdefault(watch, []).append(wall0)
    daemon = subprocess.Popen([supervisord, "-c", conf], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(work, "supervisord.stderr"), "w"), cwd=work)
    try:
        tail = LogTail(log)

        def settled(watch: str, pid: int) -> bool:
            return tail.seen(f"spawned: '{watch}' with pid {pid}")
        try:
            result = measure("supervisord", n, kills, idle, daemon, tag, argv_of, 300, on_kill, settled)
        except RuntimeError:
            show_tail(log)
            raise
        # death -> detection from the log: the sleeps never exit by themselves, so the k-th
        # "exited: wN" line is the k-th kill of wN (wall clock, ms resolution)
        exits: Dict[str, List[float]] = {}
        with open(log, errors="replace") as handle:
            for line in handle:
                m = SUPERVISOR_EXITED.match(line)
                if m:
                    t = datetime.datetime.strptime(m["date"], "%Y-%m-%d %H:%M:%S").timestamp() + int(m["ms"]) / 1000
                    exits.setdefault(m["name"], []).append(t)
        for watch, walls in kills_wall.items():
            for w0, t in zip(walls, exits.get(watch, [])):
                detect.append(max(0.0, (t - w0) * 1000))
        result["detect_ms"] = summary(detect)
        result["detect_source"] = "supervisord log line 'exited:', wall clock, 1 ms resolution"
        result["version"] = "supervisor " + supervisord_version(supervisord)
        result["config"] = "autorestart=true startsecs=0, stdout/stderr_logfile=NONE"
        return result
    finally:
        stop_daemon(daemon)
        kill_tagged(tag.encode())
        reap()
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------- monit

# monit waits for a start program to exit (up to its 30 s timeout), so like any daemon the
# wrapper puts ARGV in the background, writes its pid and returns at once
WRAPPER = """#!/bin/sh
# usage: wrap PIDFILE ARGV...
pidfile="$1"; shift
"$@" </dev/null >/dev/null 2>&1 &
echo $! > "$pidfile"
"""


def monit_version(monit: str) -> str:
    out = subprocess.run([monit, "-V"], capture_output=True, text=True, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def run_monit(n: int, kills: int, idle: float, monit: str) -> Result:
    tag = str(900000 + random.randrange(99999))
    work = tempfile.mkdtemp(prefix=f"pg-bench-monit-{n}-")
    os.makedirs(os.path.join(work, "pids"))
    wrap = os.path.join(work, "wrap")
    with open(wrap, "w") as handle:
        handle.write(WRAPPER)
    os.chmod(wrap, 0o755)

    def argv_of(i: int) -> List[str]:
        return ["/bin/sleep", f"{tag}{i:03d}"]
    lines = [
        "set daemon 1",
        f"set logfile {work}/monit.log",
        f"set pidfile {work}/monit.pid",
        f"set idfile {work}/monit.id",
        f"set statefile {work}/monit.state",
        f"set httpd unixsocket {work}/monit.sock permission 0600",
        "    allow localhost",
        "",
    ]
    for i in range(n):
        pidfile = os.path.join(work, "pids", f"w{i}.pid")
        lines += [f"check process w{i} with pidfile {pidfile}",
                  f'    start program = "{wrap} {pidfile} {" ".join(argv_of(i))}"',
                  f'    stop program = "/bin/sh -c \'kill $(cat {pidfile})\'"', ""]
    conf = os.path.join(work, "monitrc")
    with open(conf, "w") as handle:
        handle.write("\n".join(lines))
    os.chmod(conf, 0o600)
    check = subprocess.run([monit, "-t", "-c", conf], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"peers: monit -t refused the control file: {check.stdout}{check.stderr}")
    daemon = subprocess.Popen([monit, "-I", "-c", conf], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(work, "monit.stderr"), "w"), cwd=work)
    try:
        # monit starts missing services one after another, waiting for each to come up
        tail = LogTail(os.path.join(work, "monit.log"))

        def settled(watch: str, pid: int) -> bool:
            return tail.seen(f"'{watch}' process is running with pid {pid}")
        try:
            result = measure("monit", n, kills, idle, daemon, tag, argv_of, 600, None, settled)
        except RuntimeError:
            show_tail(os.path.join(work, "monit.log"))
            raise
        result["detect_ms"] = None
        result["detect_source"] = "not measured: monit's log has 1 s resolution"
        result["version"] = monit_version(monit)
        result["config"] = "set daemon 1; check process with pidfile; start program = sh wrapper"
        return result
    finally:
        stop_daemon(daemon)
        kill_tagged(tag.encode())
        reap()
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------- CLI

def default_supervisord() -> Optional[str]:
    for candidate in (os.path.join(REPO, ".bench-venv", "bin", "supervisord"),
                      os.path.join(REPO, ".venv", "bin", "supervisord"), shutil.which("supervisord")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def default_monit() -> Optional[str]:
    return shutil.which("monit") or ("/usr/bin/monit" if os.access("/usr/bin/monit", os.X_OK) else None)


def fmt_ms(s: Optional[Dict[str, float]]) -> str:
    return "—" if not s else f"{s['median']:.1f} / {s['p95']:.1f} ms"


def table(results: List[Result]) -> str:
    rows = ["| peer | watched N | death → detection, median / p95 | death → replacement running, median / p95 "
            "| idle CPU (% of a core) | RSS |", "|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['peer']} | {r['n']} | {fmt_ms(r.get('detect_ms'))} | {fmt_ms(r['replace_ms'])} | "
                    f"{r['idle_cpu_percent']:.3f} % over {r['idle_seconds']:.0f} s | {r['rss_mib']:.1f} MiB |")
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="1,100,500", help="comma-separated N (default 1,100,500)")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per size and tool (default 20)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measurement (default 60)")
    parser.add_argument("--quick", action="store_true", help="short run: N=1,100, 5 kills, 5 s idle")
    parser.add_argument("--supervisord", default=None, help="supervisord to run (default .bench-venv/bin/supervisord)")
    parser.add_argument("--monit", default=None, help="monit to run (default from PATH)")


def apply_quick(args: argparse.Namespace) -> None:
    if args.quick:
        args.sizes, args.kills, args.idle = "1,100", 5, 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--peers", default="supervisord,monit")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "peers.json"))
    args = parser.parse_args()
    apply_quick(args)
    set_subreaper()
    supervisord = args.supervisord or default_supervisord()
    monit = args.monit or default_monit()
    results: List[Result] = []
    for n in (int(s) for s in args.sizes.split(",")):
        for peer in args.peers.split(","):
            if peer == "supervisord":
                if not supervisord:
                    raise SystemExit("peers: no supervisord; run scripts/bench-setup.sh")
                results.append(run_supervisord(n, args.kills, args.idle, supervisord))
            elif peer == "monit":
                if not monit:
                    raise SystemExit("peers: no monit; run scripts/bench-setup.sh")
                results.append(run_monit(n, args.kills, args.idle, monit))
            else:
                raise SystemExit(f"peers: unknown peer {peer!r}")
            print(table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"peers": results}, handle, indent=2)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
