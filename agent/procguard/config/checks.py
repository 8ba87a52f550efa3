"""Checks a schema cannot express: references, ranges, unique names, specs that fit together.

They hold on any machine (so `procguard sign` on a controller runs them too); what must
exist on the host itself (binaries, users, directories) is host_checks.py.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List, Tuple

from ..durations import parse_duration
from .hook_checks import hook_errors
from .listen_spec import listen_errors
from .model import merged_entry
from .probe_spec import timings
from .service_checks import service_errors

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
    yield from listen_errors([(("watches", i, "start"), (merged_entry(e, defaults).get("start") or {}))
                              for i, e in enumerate(watches)])
    yield from service_errors(doc)
    for index, listener in enumerate(doc.get("haproxy_agent", [])):
        yield from _listener(("haproxy_agent", index), listener, seen)
    yield from hook_errors(doc.get("hooks"), seen)


def _watch(path: Path, m: Dict[str, Any], raw: Dict[str, Any], names: Dict[str, int]) -> Iterator[Error]:
    match = m.get("match", {})
    start = m.get("start")
    if not match and start is None and "systemd_unit" not in m:
        yield path, ("has neither `match:` nor `start:`; add `match:` to find its processes, `start:` to run it, "
                     "or `systemd_unit:` to supervise a systemd service")
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
    if "pidfile" in match and not (set(match) & {"exe", "cmdline", "user"}) and not (start or {}).get("user") \
            and not match.get("pidfile_alone"):
        yield path + ("match", "pidfile"), ("alone does not identify a process: add `exe:` or `cmdline:` (or `user:`), "
                                           "or set `pidfile_alone: true` to accept that whoever writes the file "
                                           "chooses what the agent adopts and signals")
    if "parent" in match:
        if match["parent"] not in names:
            yield path + ("match", "parent"), f"names no watch {match['parent']!r}; write the name of another watch"
        elif match["parent"] == m.get("name"):
            yield path + ("match", "parent"), "names the watch itself; write the name of another watch"
    if start is not None and start.get("shell") and len(start["argv"]) != 1:
        yield path + ("start", "argv"), "must hold exactly one string when shell is true; join the command into one string"
    backoff = m["restart"]["backoff"]
    if parse_duration(backoff["initial"]) > parse_duration(backoff["max"]):
        yield path + ("restart", "backoff", "initial"), "is larger than backoff.max; lower it or raise max"
    giveup = m["on_giveup"]
    if giveup["action"] == "escalate" and not giveup.get("escalate"):
        yield path + ("on_giveup", "escalate"), ("is empty but action is escalate; list at least one action, "
                                                 "or use action: stop_watching")
    yield from _probes(path + ("probes",), m.get("probes", []))
    yield from _actions(path + ("on_giveup", "escalate"), giveup.get("escalate", []))
    probe_names = [p.get("name") or p["type"] for p in m.get("probes", [])]
    ready = (start or {}).get("ready", {})
    if "probe" in ready and ready["probe"] not in probe_names:
        choices = probe_names or "the probes you add under probes:"
        yield path + ("start", "ready", "probe"), f"names no probe {ready['probe']!r} of this watch; write one of {choices}"


def _probes(path: Path, probes: List[Dict[str, Any]]) -> Iterator[Error]:
    """What the probe schema cannot say: unique names, one notify socket, sane timings."""
    seen: Dict[str, int] = {}
    notify = [i for i, p in enumerate(probes) if p["type"] == "notify"]
    for index, probe in enumerate(probes):
        here = path + (index,)
        name = probe.get("name") or probe["type"]
        if name in seen:
            yield here + ("name",), (f"{name!r} is already the name of probe {seen[name]} of this watch; "
                                     "probe names must be unique within a watch")
        seen.setdefault(name, index)
        interval, timeout = timings(probe)
        if interval <= 0:
            yield here + ("interval",), "must be above zero"
        if probe["type"] in ("http", "tcp", "exec") and timeout <= 0:
            yield here + ("timeout",), f"must be above zero for a {probe['type']} probe"
        if "expect_body" in probe:
            try:
                re.compile(probe["expect_body"])
            except re.error as exc:
                yield here + ("expect_body",), f"is not a valid regular expression ({exc})"
        if probe["type"] == "exec":
            yield from _absolute(here + ("argv", 0), probe["argv"][0], "an exec probe")
    for index in notify[1:]:
        yield path + (index, "type"), ("a watch can have one notify probe only (one NOTIFY_SOCKET per "
                                       "process); remove this one")


def _actions(path: Path, actions: List[Dict[str, Any]]) -> Iterator[Error]:
    seen: Dict[str, int] = {}
    for index, action in enumerate(actions):
        here = path + (index,)
        name = action.get("name") or f"{action['type']}-{index + 1}"
        if name in seen:
            yield here + ("name",), f"{name!r} is already the name of action {seen[name]}; names must be unique"
        seen.setdefault(name, index)
        if action["type"] == "pacemaker" and action.get("mode") == "ban" and not action.get("resource"):
            yield here + ("resource",), "is required with mode: ban; name the resource to ban from this node"
        if action["type"] == "command":
            for key in ("argv", "undo_argv"):
                if key in action:
                    yield from _absolute(here + (key, 0), action[key][0], "an escalation command")


def _absolute(path: Path, program: str, what: str) -> Iterator[Error]:
    """Programs the agent runs as root from a worker: an absolute path, never a PATH search."""
    if not program.startswith("/"):
        yield path, f"{program!r}: {what} must name its program by absolute path; write e.g. /usr/bin/{program}"


def _listener(path: Path, listener: Dict[str, Any], watches: Dict[str, int]) -> Iterator[Error]:
    seen: Dict[str, int] = {}
    for index, server in enumerate(listener["servers"]):
        here = path + ("servers", index)
        if server["name"] in seen:
            yield here + ("name",), (f"{server['name']!r} is already the name of server {seen[server['name']]} "
                                     "of this listener; names must be unique within a listener")
        seen.setdefault(server["name"], index)
        for w_index, watch in enumerate(server["watches"]):
            if watch not in watches:
                yield here + ("watches", w_index), f"names no watch {watch!r}; write the name of a watch of this config"


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
