"""Decide on a config in a short-lived child process, within bounds of time and memory.

Why a child: the agent runs for months and should stay small. Parsing a large YAML file
leaves several MiB of fragmented heap behind in the process that did it, and verifying a
signature maps all of `cryptography`; neither is needed between reloads. The child also
keeps the parsing of untrusted bytes out of the process that holds every service's pidfd,
and its limits (address space, CPU seconds, wall time) hold for `procguard check` too, so
a hostile file gets the same one-line refusal from both, never a hang or a traceback.

The child reads a `Request` as JSON on stdin and answers one `Verdict` as JSON.
"""

from __future__ import annotations

import base64
import json
import resource
import subprocess
import sys
from dataclasses import asdict

from ..refusal import CHECK_FAILED, Refusal
from .verdict import Request, Verdict

TIME_LIMIT = 30.0               # seconds of wall time for one decision
MEMORY_LIMIT = 768 * 1024 ** 2  # bytes of address space


def decide_in_child(req: Request) -> Verdict:
    """The verdict of a fresh child; a child that fails or overruns gives a check_failed refusal."""
    payload = asdict(req)
    payload["data"] = base64.b64encode(req.data).decode()
    payload["sig"] = base64.b64encode(req.sig).decode() if req.sig is not None else None
    proc = subprocess.Popen([sys.executable, "-m", "procguard.intake.child_main"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    try:
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.prlimit(proc.pid, resource.RLIMIT_CPU, (int(TIME_LIMIT), int(TIME_LIMIT) + 1))
    except (OSError, ValueError):
        pass  # it ended already; its answer (or lack of one) says the rest
    try:
        out, err = proc.communicate(json.dumps(payload).encode(), timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return _failed(req, f"no verdict within {TIME_LIMIT:g}s")
    try:
        return Verdict(**json.loads(out))
    except (ValueError, TypeError):
        tail = " ".join(err.decode("utf-8", "replace").split())[-200:]
        why = "ran out of memory" if "MemoryError" in tail else f"exit {proc.returncode}: {tail or 'no output'}"
        return _failed(req, why)


def _failed(req: Request, why: str) -> Verdict:
    refusal = Refusal(CHECK_FAILED, f"{req.path}: the config could not be checked ({why}); "
                      "it is refused; make it smaller and simpler", {"config": req.path, "reason": why})
    return Verdict(refusal=refusal.as_dict())
