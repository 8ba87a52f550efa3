"""The load generator: a fixed request rate per target, open loop (latency counts from the
moment a request was due, so a stall is not hidden by the generator waiting), bounded in
count, concurrency and time; it stops by itself.

Runs as its own process inside the lab's client namespace:
    python3 -m lab.traffic --out FILE --duration 20 --rate 100 NAME=HOST:PORT ...
Writes FILE.t0 (its CLOCK_MONOTONIC start) at once, then FILE: one record per request,
[target, due_s, latency_s, status, server, body] with status 0 for a transport error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

Record = Tuple[str, float, float, int, str, str]


def one_request(host: str, port: int, timeout: float) -> Tuple[int, str, str]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        answer = conn.getresponse()
        body = answer.read(200).decode(errors="replace")
        return answer.status, answer.getheader("X-Server", "") or "", body[:40]
    except (OSError, http.client.HTTPException) as exc:
        return 0, "", type(exc).__name__
    finally:
        conn.close()


def run(targets: List[Tuple[str, str, int]], rate: float, duration: float, timeout: float,
        t0: float) -> List[Record]:
    records: List[Record] = []
    lock = threading.Lock()
    per_target = int(rate * duration)
    pool = ThreadPoolExecutor(max_workers=min(512, int(len(targets) * rate * (timeout + 1)) + 8))

    def send(name: str, host: str, port: int, due: float) -> None:
        status, server, body = one_request(host, port, timeout)
        done = time.monotonic() - t0
        with lock:
            records.append((name, round(due, 4), round(done - due, 4), status, server, body))

    for i in range(per_target):                         # bounded: rate x duration per target
        due = i / rate
        pause = t0 + due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        for name, host, port in targets:
            pool.submit(send, name, host, port, due)
    pool.shutdown(wait=True)                             # each request ends by its timeout
    return sorted(records, key=lambda r: (r[1], r[0]))


def main() -> int:
    parser = argparse.ArgumentParser(prog="lab.traffic")
    parser.add_argument("--out", required=True)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second per target")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("targets", nargs="+", help="NAME=HOST:PORT")
    args = parser.parse_args()
    if not 0 < args.duration <= 600 or not 0 < args.rate <= 1000:
        parser.error("duration must be in (0, 600] s and rate in (0, 1000] per second")
    targets = []
    for spec in args.targets:
        name, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        targets.append((name, host, int(port)))
    t0 = time.monotonic()
    with open(args.out + ".t0", "w") as handle:
        handle.write(f"{t0:.6f}\n")
    records = run(targets, args.rate, args.duration, args.timeout, t0)
    with open(args.out + ".tmp", "w") as handle:
        json.dump(records, handle, separators=(",", ":"))
    os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
