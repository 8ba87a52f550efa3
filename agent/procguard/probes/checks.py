"""One check per probe type. Each runs in its probe's own worker thread and returns
`(ok, reason)`; none may take much longer than the probe's timeout."""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Dict, Mapping, Optional, Sequence, Tuple

from ..children.commands import run_command
from ..config.probe_spec import ProbeSpec

Outcome = Tuple[bool, str]
BODY_LIMIT = 65536


class Check:
    def __init__(self, spec: ProbeSpec, env: Optional[Mapping[str, str]] = None) -> None:
        self.spec = spec
        self.env = env

    def run(self, pids: Sequence[int]) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError


class HttpCheck(Check):
    """GET (or the given method) through requests; status and optional body pattern.

    requests' read timeout is per socket read, so the body is read in chunks against one
    overall deadline: a server that trickles bytes still fails at `timeout`."""

    def run(self, pids: Sequence[int]) -> Outcome:
        import requests  # imported lazily: an agent without http probes never loads it

        spec = self.spec
        deadline = time.monotonic() + spec.timeout
        headers = {"Connection": "close", "User-Agent": "procguard-probe"}
        headers.update(spec.opt("headers") or {})
        try:
            with requests.request(
                spec.opt("method", "GET"), spec.opt("url"), headers=headers, stream=True,
                timeout=(spec.timeout, spec.timeout), allow_redirects=False,
                verify=spec.opt("verify_tls", True),
            ) as resp:
                if resp.status_code not in spec.opt("expect_status"):
                    return False, f"status {resp.status_code}"
                pattern = spec.opt("expect_body")
                if not pattern:
                    return True, f"status {resp.status_code}"
                body = b""
                for chunk in resp.iter_content(4096):
                    body += chunk
                    if len(body) >= BODY_LIMIT:
                        break
                    if time.monotonic() > deadline:
                        return False, f"timeout after {spec.timeout:g}s reading the body"
                text = body[:BODY_LIMIT].decode(resp.encoding or "utf-8", "replace")
                if not re.search(pattern, text):
                    return False, f"body does not match {pattern!r}"
                return True, f"status {resp.status_code}, body matches"
        except requests.exceptions.Timeout:
            return False, f"timeout after {spec.timeout:g}s"
        except requests.exceptions.ConnectionError as exc:
            return False, f"connection failed: {_short(exc)}"
        except requests.exceptions.RequestException as exc:
            return False, f"request failed: {_short(exc)}"


class TcpCheck(Check):
    def run(self, pids: Sequence[int]) -> Outcome:
        host = self.spec.opt("host", "127.0.0.1")
        port = self.spec.opt("port")
        try:
            with socket.create_connection((host, port), timeout=self.spec.timeout):
                return True, f"connected to {host}:{port}"
        except socket.timeout:
            return False, f"connect to {host}:{port} timed out after {self.spec.timeout:g}s"
        except OSError as exc:
            return False, f"connect to {host}:{port}: {exc.strerror or exc}"


class ExecCheck(Check):
    """Exit 0 is good. Timeout kills the whole process group (see children.py)."""

    def __init__(self, spec: ProbeSpec, env: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(spec, env)
        self.last_pid: Optional[int] = None

    def run(self, pids: Sequence[int]) -> Outcome:
        env = dict(os.environ)
        env.update(self.env or {})
        env.update(self.spec.opt("env") or {})
        env["PROCGUARD_PIDS"] = " ".join(str(p) for p in pids)
        res = run_command(self.spec.opt("argv"), self.spec.timeout, env=env, cwd=self.spec.opt("cwd"))
        self.last_pid = res.pid
        if res.status == "timeout":
            return False, f"timeout after {self.spec.timeout:g}s, process group killed"
        if res.ok:
            return True, "exit:0"
        tail = f": {res.output.splitlines()[-1][:200]}" if res.output else ""
        return False, f"{res.status}{tail}"


class HeartbeatFileCheck(Check):
    def run(self, pids: Sequence[int]) -> Outcome:
        path = self.spec.opt("path")
        try:
            age = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            return False, f"{path} does not exist"
        except OSError as exc:
            return False, f"{path}: {exc.strerror or exc}"
        limit = self.spec.opt("max_age")
        if age > limit:
            return False, f"{path} is {age:.1f}s old (max {limit:g}s)"
        return True, f"{path} is {age:.1f}s old"


def read_state(pid: int) -> Optional[str]:
    """The state letter from /proc/PID/stat (after the last ')' of comm), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:]
    return rest[:1].decode("ascii", "replace") or None


class ProcStateCheck(Check):
    """Fails when a pid has stayed in a stuck state (D, T/t, Z) longer than max_duration."""

    def __init__(self, spec: ProbeSpec, env: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(spec, env)
        self.since: Dict[int, Tuple[str, float]] = {}
        states = set(spec.opt("states"))
        if "T" in states:
            states.add("t")
        self.bad = states

    def run(self, pids: Sequence[int]) -> Outcome:
        now = time.monotonic()
        limit = self.spec.opt("max_duration")
        worst: Optional[Tuple[float, int, str]] = None
        seen = set()
        for pid in pids:
            state = read_state(pid)
            if state is None or state not in self.bad:
                continue
            seen.add(pid)
            first = self.since.get(pid)
            if first is None or first[0] != state:
                first = self.since[pid] = (state, now)
            held = now - first[1]
            if worst is None or held > worst[0]:
                worst = (held, pid, state)
        for pid in list(self.since):
            if pid not in seen:
                del self.since[pid]
        if worst is None:
            return True, "no process stuck"
        held, pid, state = worst
        if held >= limit:
            return False, f"pid {pid} in state {state} for {held:.1f}s (max {limit:g}s)"
        return True, f"pid {pid} in state {state} for {held:.1f}s"


def _short(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return (match.group(1) if match else text)[:200]


CHECKS = {
    "http": HttpCheck, "tcp": TcpCheck, "exec": ExecCheck,
    "heartbeat_file": HeartbeatFileCheck, "proc_state": ProcStateCheck,
}
