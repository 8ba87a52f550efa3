#!/usr/bin/env python3
"""Do slow probes delay death detection? (issue 4)

Starts a TCP server on 127.0.0.1 that accepts HTTP connections and never answers, runs
N http probes against it (timeout 2 s, interval 2 s, one watch each) through the real
ProbeManager, and meanwhile measures how long a pidfd + epoll loop (like the engine's)
takes to notice the SIGKILL of a child. The same loop thread drains the probes' post()
queue, as the engine does. Prints p50/p95/max with and without the load.

    python3 benchmarks/probes_load.py [--probes 200] [--timeout 2] [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, Deque, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))

from procguard.events.emitter import Emitter
from procguard.probes.manager import ProbeManager


class HangingServer(threading.Thread):
    """Accepts and holds every connection without a byte in reply."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.held: List[socket.socket] = []
        self.accepted = 0

    def run(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.accepted += 1
            self.held.append(conn)
            if len(self.held) > 2000:
                self.held.pop(0).close()


class Loop:
    """The engine's shape: one thread, epoll on pidfds and on a wake pipe for post()."""

    def __init__(self) -> None:
        self.ep = select.epoll()
        self.rfd, self.wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.ep.register(self.rfd, select.EPOLLIN)
        self.queue: Deque[Callable[[], None]] = collections.deque()
        self.on_death: Dict[int, Callable[[], None]] = {}
        self.posted = 0
        self.stop = False

    def post(self, fn: Callable[[], None]) -> None:
        self.queue.append(fn)
        try:
            os.write(self.wfd, b"x")
        except BlockingIOError:
            pass

    def watch(self, pidfd: int, fn: Callable[[], None]) -> None:
        self.on_death[pidfd] = fn
        self.ep.register(pidfd, select.EPOLLIN)

    def run(self) -> None:
        while not self.stop:
            for fd, _ev in self.ep.poll(0.5):
                if fd == self.rfd:
                    try:
                        os.read(self.rfd, 65536)
                    except BlockingIOError:
                        pass
                elif fd in self.on_death:
                    self.ep.unregister(fd)
                    self.on_death.pop(fd)()
            while self.queue:
                self.queue.popleft()()
                self.posted += 1


def measure_deaths(loop: Loop, seconds: float) -> List[float]:
    latencies: List[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        child = subprocess.Popen(["sleep", "60"])
        pidfd = os.pidfd_open(child.pid)
        done = threading.Event()
        stamp: Dict[str, float] = {}

        def died(stamp: Dict[str, float] = stamp, done: threading.Event = done) -> None:
            stamp["seen"] = time.perf_counter()
            done.set()
        loop.post(lambda pidfd=pidfd, died=died: loop.watch(pidfd, died))
        time.sleep(random.uniform(0.02, 0.1))        # kill at a random moment of the probe cycle
        stamp["killed"] = time.perf_counter()
        os.kill(child.pid, signal.SIGKILL)
        if not done.wait(10):
            raise SystemExit("death not noticed within 10 s")
        latencies.append((stamp["seen"] - stamp["killed"]) * 1000)
        child.wait()
        os.close(pidfd)
    return latencies


def summary(values: List[float]) -> Dict[str, float]:
    values = sorted(values)
    return {"n": len(values), "p50_ms": round(statistics.median(values), 3),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))], 3), "max_ms": round(values[-1], 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="length of each measuring window (deaths every 20-100 ms)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    loop = Loop()
    threading.Thread(target=loop.run, daemon=True).start()
    baseline = measure_deaths(loop, min(3.0, args.seconds))

    server = HangingServer()
    server.start()
    emitter = Emitter(socket_path="", history=100)
    failures = collections.Counter()
    emitter.sinks.append(lambda msg, fields, line: failures.update([msg.id]))
    state = f"/tmp/procguard-bench-{os.getpid()}"
    os.makedirs(state, exist_ok=True)
    mgr = ProbeManager(loop.post, emitter, state)
    verdicts = collections.Counter()
    mgr.on_verdict = lambda w, v, d: verdicts.update([v])
    me = (os.getpid(),)
    url = f"http://127.0.0.1:{server.port}/health"
    for i in range(args.probes):
        loop.post(lambda i=i: mgr.configure(f"w{i}", [{"name": "h", "type": "http", "url": url,
                                                       "timeout": args.timeout, "interval": args.timeout,
                                                       "start_delay": 0, "fall": 3}], lambda: me))
    deadline = time.monotonic() + 30
    while server.accepted < args.probes and time.monotonic() < deadline:
        time.sleep(0.05)
    in_flight = server.accepted
    t0 = time.monotonic()
    loaded = measure_deaths(loop, args.seconds)
    elapsed = time.monotonic() - t0
    loop.post(mgr.shutdown)
    result = {
        "probes": args.probes, "timeout_s": args.timeout, "probe_connections_held": in_flight,
        "probe_results_delivered_during_run": loop.posted, "stall_verdicts": verdicts["stalled"],
        "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
        "death_detection_idle": summary(baseline),
        "death_detection_under_probe_load": summary(loaded),
        "load_window_s": round(elapsed, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        b, u = result["death_detection_idle"], result["death_detection_under_probe_load"]
        print(f"{args.probes} http probes, timeout {args.timeout:g}s, against a server that never answers "
              f"({in_flight} connections held, {verdicts['stalled']} stall verdicts, {failures['PG4001']} failed checks)")
        print(f"death -> noticed, idle:            p50 {b['p50_ms']:.3f} ms  p95 {b['p95_ms']:.3f} ms  max {b['max_ms']:.3f} ms")
        print(f"death -> noticed, under the load:  p50 {u['p50_ms']:.3f} ms  p95 {u['p95_ms']:.3f} ms  max {u['max_ms']:.3f} ms"
              f"  ({u['n']} deaths over {elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
