"""The lab's business services, stdlib only, started through a per-server launcher script
(`bin/web`, `bin/ap`) so that a fault can swap in a "bad binary".

Both have the shape of gunicorn or php-fpm: a master owns the listening socket and keeps
worker processes that serve on it (it replaces a dead worker at once). The master pings
its workers over pipes and says WATCHDOG=1 (sd_notify) only while all of them answer; a
worker whose master is gone exits.

web  2 workers: GET / asks the server's AP server and answers 200 "web1 ap1" (502 when the
     AP fails); GET /health answers from the worker alone.
ap   1 worker: answers 200 "ap1".

The master takes its listening socket from its supervisor when one holds it (socket
activation: LISTEN_FDS, LISTEN_PID), as systemd's .socket units and procguard's
`start.listen` offer; otherwise it binds the port itself.

Both write a pidfile when asked (monit needs one), speak sd_notify when NOTIFY_SOCKET is
set (READY=1 once listening; WATCHDOG=1 while alive), and answer with an `X-Server` header
so the load generator sees which backend answered. A file named `hang` in the server's
directory makes an AP worker hang from its start (a deadlock that a restart cannot fix).
"""

from __future__ import annotations

import argparse
import errno
import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional

WORKER_PING_EVERY = 0.2
WORKER_PING_TIMEOUT = 0.5


def notify(message: str) -> None:
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    address = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            pass


def watchdog_every() -> Optional[float]:
    usec = os.environ.get("WATCHDOG_USEC")
    return int(usec) / 3e6 if usec and usec.isdigit() and int(usec) > 0 else None


def write_pidfile(path: str) -> None:
    if path:
        with open(path + ".tmp", "w") as handle:
            handle.write(f"{os.getpid()}\n")
        os.replace(path + ".tmp", path)


def inherited() -> Optional[socket.socket]:
    """The listening socket its supervisor holds for it (socket activation, sd_listen_fds:
    fd 3 when LISTEN_PID is this process), or None. The variables are cleared so the
    workers, which get the socket by its number, never read them as their own."""
    mine = os.environ.pop("LISTEN_PID", "") == str(os.getpid())
    count = os.environ.pop("LISTEN_FDS", "0")
    os.environ.pop("LISTEN_FDNAMES", None)
    if not mine or not count.isdigit() or int(count) < 1:
        return None
    sock = socket.socket(fileno=3)
    os.set_inheritable(sock.fileno(), False)
    return sock


def bind(port: int, deadline: float = 3.0) -> socket.socket:
    """Bind 0.0.0.0:port, retrying while an old process still holds it (as nginx does)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    end = time.monotonic() + deadline
    while True:
        try:
            sock.bind(("0.0.0.0", port))
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > end:
                raise
            time.sleep(0.05)
    sock.listen(128)
    return sock


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, sock: socket.socket, handler: type) -> None:
        super().__init__(sock.getsockname(), handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock

    def handle_error(self, request: object, client_address: object) -> None:
        """A peer that hung up (HAProxy closes a health check as soon as it has the status
        line) is not worth a traceback: under systemd every line goes through journald, and
        a few tracebacks a second per server cost the whole machine CPU the contenders share."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    name = "?"

    def reply(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("X-Server", self.name)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def serve(sock: socket.socket, handler: type) -> None:
    server = Server(sock, handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever(poll_interval=0.5)


def keep_watchdog(alive: Callable[[], bool]) -> None:
    every = watchdog_every()
    if every is None:
        return

    def loop() -> None:
        while True:
            if alive():
                notify("WATCHDOG=1")
            time.sleep(every)
    threading.Thread(target=loop, daemon=True).start()


# -------------------------------------------------------------------------------- master

def run_master(args: argparse.Namespace) -> int:
    """Owns the listening socket, keeps `--workers` workers, pings them over pipes, and says
    WATCHDOG=1 only while every worker answered lately. Dead workers are replaced at once."""
    sock = inherited() or bind(args.port)
    write_pidfile(args.pidfile)
    workers: List[dict] = []
    stopping = threading.Event()

    def spawn() -> dict:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        argv = [sys.executable, sys.argv[0], "worker", str(sock.fileno()), str(to_r), str(from_w)]
        proc = subprocess.Popen(argv, pass_fds=(sock.fileno(), to_r, from_w), stdin=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        os.set_blocking(from_r, False)
        return {"proc": proc, "to": to_w, "from": from_r, "answered": 0.0}

    def term(*_: object) -> None:
        stopping.set()
        for w in workers:
            if w["proc"].poll() is None:
                w["proc"].send_signal(signal.SIGTERM)
                w["proc"].send_signal(signal.SIGCONT)   # a stopped worker runs its handler too
        end = time.monotonic() + 1
        for w in workers:
            try:
                w["proc"].wait(max(0.01, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                w["proc"].kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, term)
    workers.extend(spawn() for _ in range(args.workers))
    keep_watchdog(lambda: all(time.monotonic() - w["answered"] < WORKER_PING_TIMEOUT + WORKER_PING_EVERY
                              for w in workers))
    ready = False
    while not stopping.is_set():
        for i, w in enumerate(workers):
            if w["proc"].poll() is not None:      # a dead worker is replaced by its master
                os.close(w["to"])
                os.close(w["from"])
                workers[i] = w = spawn()
            try:
                os.write(w["to"], b"p")
            except OSError:
                pass
        time.sleep(WORKER_PING_EVERY)
        for w in workers:
            try:
                if os.read(w["from"], 64):
                    w["answered"] = time.monotonic()
            except BlockingIOError:
                pass
        if not ready and all(w["answered"] for w in workers):
            notify("READY=1")
            ready = True
    return 0


# -------------------------------------------------------------------------------- worker

def handler_for(args: argparse.Namespace, hang: bool) -> type:
    ap_host, _, ap_port = (args.ap or "").partition(":")

    class Work(Handler):
        name = args.name

        def do_GET(self) -> None:
            if hang:
                threading.Event().wait()        # a deadlock: never answers
            if self.path == "/health" or not args.ap:
                self.reply(200, args.name)
                return
            try:
                conn = http.client.HTTPConnection(ap_host, int(ap_port), timeout=args.ap_timeout)
                conn.request("GET", "/")
                answer = conn.getresponse()
                body = answer.read().decode()
                conn.close()
                if answer.status != 200:
                    raise OSError(f"ap answered {answer.status}")
            except OSError as exc:
                self.reply(502, f"{args.name} ap failed: {exc}")
                return
            self.reply(200, f"{args.name} {body}")
    return Work


def run_worker(args: argparse.Namespace) -> int:
    sock = socket.socket(fileno=args.fd)
    hang = os.path.exists(os.path.join(os.path.dirname(os.path.dirname(sys.argv[0])), "hang"))

    def pings() -> None:
        while True:
            try:
                got = os.read(args.ping_in, 64)
            except OSError:
                got = b""
            if not got:                         # the master is gone: so are we
                os._exit(0)
            if not hang:
                os.write(args.ping_out, b"o")
    threading.Thread(target=pings, daemon=True).start()
    serve(sock, handler_for(args, hang))
    return 0


def parse(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lab-service")
    parser.add_argument("role", choices=["web", "ap"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ap", default="", help="HOST:PORT of the AP server (web)")
    parser.add_argument("--ap-timeout", type=float, default=2.0)
    parser.add_argument("--pidfile", default="")
    parser.add_argument("--workers", type=int, default=1)
    return parser.parse_args(argv)


def main(fixed: List[str]) -> int:
    """Entry point of a launcher: its fixed arguments, plus `worker FD IN OUT` for AP workers."""
    extra = sys.argv[1:]
    args = parse(fixed)
    if extra[:1] == ["worker"]:
        args.fd, args.ping_in, args.ping_out = (int(x) for x in extra[1:4])
        return run_worker(args)
    return run_master(args)


def write_launcher(path: str, fixed: List[str]) -> None:
    """The per-server "binary": a script that runs main() with its fixed arguments."""
    lab_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = ("#!/usr/bin/python3\nimport sys\n"
            f"sys.path.insert(0, {lab_parent!r})\n"
            "from lab.services import main\n"
            f"sys.exit(main({fixed!r}))\n")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.chmod(path + ".tmp", 0o755)
    os.replace(path + ".tmp", path)


def write_bad_launcher(path: str) -> None:
    """A bad build: the binary exits 1 at once, every time."""
    with open(path + ".tmp", "w") as handle:
        handle.write("#!/bin/sh\necho 'bad build: cannot start' >&2\nexit 1\n")
    os.chmod(path + ".tmp", 0o755)
    os.replace(path + ".tmp", path)
