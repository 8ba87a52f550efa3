"""Checks a schema cannot express: references, ranges, binaries and users that must exist."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
from typing import Any, Dict, Iterator, List, Tuple

from .durations import parse_duration
from .model import merged_entry

Path = Tuple[Any, ...]
Error = Tuple[Path, str]


def semantic_errors(doc: Dict[str, Any]) -> List[Error]:
    return list(_all(doc))


def _all(doc: Dict[str, Any]) -> Iterator[Error]:
    watches = doc.get("watches", [])
    defaults = doc.get("defaults", {}) or {}
    seen: Dict[str, int] = {}
    for index, entry in enumerate(watches):
        name = entry.get("name")
        if name in seen:
            yield ("watches", index, "name"), f"{name!r} is already the name of watches[{seen[name]}]; names must be unique"
        else:
            seen[name] = index
    for index, entry in enumerate(watches):
        yield from _watch(("watches", index), merged_entry(entry, defaults), entry, seen)
    yield from _parent_cycles(watches)


def _watch(path: Path, m: Dict[str, Any], raw: Dict[str, Any], names: Dict[str, int]) -> Iterator[Error]:
    match = m.get("match", {})
    start = m.get("start")
    if not match and start is None:
        yield path, "has neither `match:` nor `start:`; add `match:` to find its processes or `start:` to run it"
    if start is not None and start.get("shell") and not match:
        yield path + ("match",), ("is required with `start.shell: true` (a shell's command line cannot be matched "
                                  "reliably); add e.g. `match: {cmdline: ...}`")
    inst = m.get("instances", {})
    lo, hi = inst["min"], inst["max"]
    if lo > hi:
        yield path + ("instances", "min"), f"min ({lo}) is larger than max ({hi}); make max at least {lo}"
    if "cmdline" in match:
        try:
            re.compile(match["cmdline"])
        except re.error as exc:
            yield path + ("match", "cmdline"), f"is not a valid regular expression ({exc}); escape special characters with \\"
    if "parent" in match:
        if match["parent"] not in names:
            yield path + ("match", "parent"), f"names no watch {match['parent']!r}; write the name of another watch"
        elif match["parent"] == m.get("name"):
            yield path + ("match", "parent"), "names the watch itself; write the name of another watch"
    if "user" in match:
        yield from _user(path + ("match", "user"), match["user"])
    if start is not None:
        yield from _start(path + ("start",), start, m)
    backoff = m["restart"]["backoff"]
    if parse_duration(backoff["initial"]) > parse_duration(backoff["max"]):
        yield path + ("restart", "backoff", "initial"), "is larger than backoff.max; lower it or raise max"
    giveup = m["on_giveup"]
    if giveup["action"] == "escalate" and not giveup.get("escalate"):
        yield path + ("on_giveup", "escalate"), ("is empty but action is escalate; list at least one action, "
                                                 "or use action: stop_watching")
    probe_names = [p.get("name") for p in m.get("probes", []) if isinstance(p, dict)]
    ready = (start or {}).get("ready", {})
    if "probe" in ready and ready["probe"] not in probe_names:
        choices = probe_names or "the probes you add under probes:"
        yield path + ("start", "ready", "probe"), f"names no probe {ready['probe']!r} of this watch; write one of {choices}"


def _start(path: Path, start: Dict[str, Any], m: Dict[str, Any]) -> Iterator[Error]:
    argv = start["argv"]
    if start.get("shell"):
        if len(argv) != 1:
            yield path + ("argv",), "must hold exactly one string when shell is true; join the command into one string"
    else:
        yield from _binary(path + ("argv", 0), argv[0], dict(start.get("env", {})))
    if "user" in start:
        yield from _user(path + ("user",), start["user"])
    if "group" in start:
        try:
            grp.getgrnam(start["group"])
        except KeyError:
            yield path + ("group",), f"group {start['group']!r} does not exist on this host; create it or fix the name"
    if "cwd" in start and not os.path.isdir(start["cwd"]):
        yield path + ("cwd",), f"{start['cwd']} is not a directory on this host; create it or fix the path"


def _binary(path: Path, program: str, env: Dict[str, str]) -> Iterator[Error]:
    if "/" in program:
        if not os.path.isfile(program):
            yield path, f"{program} does not exist; install it or fix the path"
        elif not os.access(program, os.X_OK):
            yield path, f"{program} is not executable; chmod +x it or fix the path"
    elif shutil.which(program, path=env.get("PATH", os.defpath + ":/usr/local/bin:/usr/local/sbin")) is None:
        yield path, f"{program!r} is not found in PATH; write its absolute path or install it"


def _user(path: Path, name: str) -> Iterator[Error]:
    try:
        pwd.getpwnam(name)
    except KeyError:
        yield path, f"user {name!r} does not exist on this host; create it or fix the name"


def _parent_cycles(watches: List[Dict[str, Any]]) -> Iterator[Error]:
    parent = {w.get("name"): (w.get("match") or {}).get("parent") for w in watches}
    for index, w in enumerate(watches):
        seen = {w.get("name")}
        current = parent.get(w.get("name"))
        while current is not None and current in parent:
            if current in seen:
                yield ("watches", index, "match", "parent"), "forms a cycle of parents; one watch must have no parent"
                break
            seen.add(current)
            current = parent.get(current)
