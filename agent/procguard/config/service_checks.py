"""Semantic checks of limits, output, reload, start order and systemd_unit watches: what
the schema cannot say. Run with the other semantic checks (checks.py), on any machine."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

from .limits_spec import RLIMIT_KEYS, parse_rlimit
from .model import merged_entry
from .sizes import parse_size

Path = Tuple[Any, ...]
Error = Tuple[Path, str]


def service_errors(doc: Dict[str, Any]) -> Iterator[Error]:
    watches = doc.get("watches", [])
    defaults = doc.get("defaults", {}) or {}
    names = {w.get("name"): i for i, w in enumerate(watches)}
    for key in ("systemd_unit", "after"):
        if key in defaults:
            yield ("defaults", key), "cannot be a default; write it in each watch that needs it"
    for index, entry in enumerate(watches):
        here: Path = ("watches", index)
        m = merged_entry(entry, defaults)
        yield from _limits(here + ("limits",), m.get("limits") or {})
        yield from _reload(here + ("reload",), m.get("reload") or {})
        yield from _systemd_unit(here, entry)
        for a_index, other in enumerate(entry.get("after", [])):
            if other == entry.get("name"):
                yield here + ("after", a_index), "names the watch itself; write the name of another watch"
            elif other not in names:
                yield here + ("after", a_index), f"names no watch {other!r}; write the name of a watch of this config"
    yield from _after_cycles(watches)


def _limits(path: Path, limits: Dict[str, Any]) -> Iterator[Error]:
    both = "memory_high" in limits and "memory_max" in limits
    if both and parse_size(limits["memory_high"]) > parse_size(limits["memory_max"]):
        yield path + ("memory_high",), "is above memory_max; lower it or raise memory_max"
    for key in RLIMIT_KEYS:
        if key in limits:
            soft, hard = parse_rlimit(limits[key])
            if soft > hard:
                yield path + (key,), f"soft limit {soft} is above the hard limit {hard}; write SOFT:HARD with SOFT <= HARD"
    if limits.get("cpu_quota") is not None and float(limits["cpu_quota"].rstrip("%")) <= 0:
        yield path + ("cpu_quota",), "must be above 0%"


def _reload(path: Path, reload: Dict[str, Any]) -> Iterator[Error]:
    argv = reload.get("argv")
    if argv and not argv[0].startswith("/"):
        yield path + ("argv", 0), (f"{argv[0]!r}: a reload command must name its program by absolute path; "
                                   f"write e.g. /usr/bin/{argv[0]}")


def _systemd_unit(path: Path, entry: Dict[str, Any]) -> Iterator[Error]:
    if "systemd_unit" not in entry:
        return
    for key in ("start", "match"):
        if key in entry:
            yield path + (key,), ("cannot be given with systemd_unit: systemd starts the unit and names its "
                                  "main process; remove it")
    instances = entry.get("instances") or {}
    if instances.get("min", 1) != 1 or instances.get("max", 1) != 1:
        yield path + ("instances",), "a systemd_unit watch has exactly one main process; remove instances"


def _after_cycles(watches: List[Dict[str, Any]]) -> Iterator[Error]:
    after = {w.get("name"): list(w.get("after", [])) for w in watches}
    reported = set()
    for index, w in enumerate(watches):
        cycle = _cycle_from(w.get("name"), after)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            yield ("watches", index, "after"), (f"forms a start-order cycle ({' -> '.join(cycle)}); "
                                                "remove one of these `after:` entries")


def _cycle_from(start: Any, after: Dict[Any, List[Any]]) -> List[Any]:
    """The names of a cycle through `start`, or [] (depth-first, bounded by the watch count)."""
    stack: List[Tuple[Any, List[Any]]] = [(start, [start])]
    seen = set()
    while stack:
        node, trail = stack.pop()
        for nxt in after.get(node, []):
            if nxt == start:
                return trail + [start]
            if nxt not in seen and nxt in after:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return []
