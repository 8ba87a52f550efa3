"""A service with a child, a grandchild and a double-forked grandchild, each `sleep` with an
argv of its own, so a test can count what is left of every generation through /proc."""

from __future__ import annotations

from typing import Any, Dict, List

from .procs import pids_running

MODES = {"cgroup": [], "process-group": ["--cgroups", "off"]}
ROLES = ("main", "child", "grandchild", "double_forked")


def argvs(tag: str) -> Dict[str, tuple]:
    return {role: ("sleep", f"{tag}{i}") for i, role in enumerate(ROLES)}


def tree_service(tag: str) -> str:
    """sh -c: a child sleep; a child sh whose own child sleeps (a grandchild); a subshell that
    backgrounds a sleep and exits at once (double fork: the sleep is orphaned); then exec."""
    a = {role: " ".join(argv) for role, argv in argvs(tag).items()}
    return (f"{a['child']} & sh -c '{a['grandchild']} & wait' & ({a['double_forked']} &); "
            f"exec {a['main']}")


def tree_watch(name: str, tag: str, **extra: Any) -> Dict[str, Any]:
    watch: Dict[str, Any] = {
        "name": name,
        "match": {"cmdline": f"^sleep {tag}0$"},
        "start": {"argv": [tree_service(tag)], "shell": True, "ready": {"alive_for": 0}},
        "stop": {"timeout": "3s"},
    }
    watch.update(extra)
    return watch


def running(tag: str) -> Dict[str, List[int]]:
    return {role: pids_running(argv) for role, argv in argvs(tag).items()}


def complete(tag: str) -> Dict[str, List[int]]:
    """The running tree once every generation is up (one process each), else {}."""
    got = running(tag)
    return got if all(len(p) == 1 for p in got.values()) else {}


def none_left(tag: str) -> bool:
    return not any(running(tag).values())
