"""Which enabled systemd services run a given program: so that `check` and the agent warn
when a watch would start a daemon that systemd starts too (two supervisors, one daemon).

Read from the unit files themselves (ExecStart=), without asking systemd: `check` runs
this on hosts where systemd may not be PID 1 (containers, build machines).
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, Optional, Tuple

from .config.model import SERVICE_PATH, Watch
from .fileio import which

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def enabled_services(root: str = "/") -> Dict[str, str]:
    """{unit name: its file} for every service enabled through a .wants/ link."""
    found: Dict[str, str] = {}
    for link in _wanted_links(os.path.join(root, "etc/systemd/system")):
        name = os.path.basename(link)
        if "@" in name or name in found:
            continue
        path = _unit_file(name, root)
        if path:
            found[name] = path
    return found


def _wanted_links(base: str) -> Iterable[str]:
    """What BASE/*.wants/*.service globs to, without loading glob (the agent runs this)."""
    for wants in _visible(base):
        folder = os.path.join(base, wants)
        if wants.endswith(".wants") and os.path.isdir(folder):
            yield from (os.path.join(folder, n) for n in _visible(folder) if n.endswith(".service"))


def _visible(folder: str) -> List[str]:
    try:
        return [n for n in os.listdir(folder) if not n.startswith(".")]
    except OSError:
        return []


def _unit_file(name: str, root: str) -> Optional[str]:
    for directory in UNIT_DIRS:
        path = os.path.join(root, directory.lstrip("/"), name)
        if os.path.isfile(path):
            return path
    return None


def exec_programs(path: str) -> List[str]:
    """The programs of every ExecStart= line of a unit file (prefixes like `-` or `@` removed)."""
    import shlex  # only when a service is enabled: the agent's import path stays small

    programs = []
    try:
        with open(path, errors="replace") as handle:
            lines = handle.read(256 * 1024).splitlines()
    except OSError:
        return []
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if not sep or key.strip() != "ExecStart" or not value.strip():
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = value.split()
        if words:
            programs.append(words[0].lstrip("-@:+!"))
    return programs


def program_of(watch: Watch) -> Optional[str]:
    start = watch.start
    if start is None or start.shell or watch.systemd_unit:
        return None
    program = start.argv[0]
    resolved = program if "/" in program else which(program, dict(start.env).get("PATH", SERVICE_PATH))
    return os.path.realpath(resolved) if resolved else None


def double_supervision(watches: Iterable[Watch], root: str = "/") -> List[Tuple[str, str, str]]:
    """(watch, program, unit) for each watch whose start program an enabled service runs."""
    out: List[Tuple[str, str, str]] = []
    wanted = {w.name: p for w in watches if (p := program_of(w))}
    if not wanted:
        return out
    services = enabled_services(root)
    for unit, path in sorted(services.items()):
        for program in exec_programs(path):
            real = os.path.realpath(program)
            out.extend((name, real, unit) for name, p in wanted.items() if p == real)
    return out
