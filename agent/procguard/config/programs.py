"""Every file the agent will execute, or hand to an interpreter, for a validated config.

One list for every route by which a file reaches an exec: start commands (inherited from
`defaults` too, and through `shell: true`), files named in an argv (a script given to an
interpreter, `[/bin/sh, /opt/app/run.sh]`), exec probes, escalation commands with their
undo, event hooks' commands, reload commands, and systemctl for `systemd_unit` watches.
The intake checks each with the same file-safety rule, so `procguard check` and the agent
refuse the same configs (docs/security.md).
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

from .model import SERVICE_PATH, merged_entry

Path = Tuple[Any, ...]


@dataclass(frozen=True)
class Program:
    """A file the config makes root (or a user) execute: the thing the safety check looks at."""

    key: Path             # where the config names it (for the line number)
    file: str             # absolute path of the file
    kind: str             # "start command of watch web", for the message
    user: Optional[str]   # runs as this user; None: as root


def programs(doc: Dict[str, Any]) -> Iterator[Program]:
    defaults = doc.get("defaults") or {}
    for index, entry in enumerate(doc.get("watches", [])):
        merged = merged_entry(entry, defaults)
        name = merged["name"]
        here: Path = ("watches", index)
        start = merged.get("start")
        if start is not None:
            key = here + ("start", "argv") if "start" in entry else ("defaults", "start", "argv")
            path = dict(start.get("env") or {}).get("PATH", SERVICE_PATH)
            yield from _argv(key, start["argv"], bool(start.get("shell")), f"start command of watch {name}",
                             start.get("user"), start.get("cwd", "/"), path)
        if "systemd_unit" in merged:
            yield from _argv(here + ("systemd_unit",), ["systemctl"], False, f"systemctl of watch {name}", None, "/",
                             SERVICE_PATH)
        reload_argv = (merged.get("reload") or {}).get("argv")
        if reload_argv:
            yield from _argv(here + ("reload", "argv"), reload_argv, False, f"reload command of watch {name}",
                             None, "/", SERVICE_PATH)  # run as root, like escalation commands
        for p_index, probe in enumerate(merged.get("probes", [])):
            if probe["type"] == "exec":
                yield from _argv(here + ("probes", p_index, "argv"), probe["argv"], False,
                                 f"exec probe {probe.get('name', 'exec')} of watch {name}", None,
                                 probe.get("cwd", "/"), SERVICE_PATH)
        for a_index, action in enumerate(merged["on_giveup"].get("escalate", [])):
            for field in ("argv", "undo_argv"):
                if action["type"] == "command" and field in action:
                    yield from _argv(here + ("on_giveup", "escalate", a_index, field), action[field], False,
                                     f"escalation {field} of watch {name}", None, "/", SERVICE_PATH)
    for index, hook in enumerate(doc.get("hooks", [])):
        if "command" in hook:
            yield from _argv(("hooks", index, "command"), hook["command"], False, f"command of hook {hook['name']}",
                             None, "/", SERVICE_PATH)


def _argv(key: Path, argv: Sequence[str], shell: bool, kind: str, user: Optional[str], cwd: str,
          search_path: str) -> Iterator[Program]:
    if shell:
        yield Program(key, "/bin/sh", f"shell of the {kind}", user)
        try:
            words = shlex.split(argv[0])
        except ValueError:
            words = argv[0].split()
        for word in words:
            found = _existing_file(word, cwd)
            if found:
                yield Program(key, found, f"file in the {kind}", user)
        return
    program = argv[0]
    resolved = program if "/" in program else shutil.which(program, path=search_path)
    if resolved:
        yield Program(key + (0,), os.path.join(cwd, resolved), kind, user)
    for position, arg in enumerate(argv[1:], 1):
        found = _existing_file(arg, cwd)
        if found:
            yield Program(key + (position,), found, f"file given to the {kind}", user)


def _existing_file(word: str, cwd: str) -> Optional[str]:
    if not word or word.startswith("-") or "\0" in word:
        return None
    candidate = os.path.join(cwd, word)
    try:
        return candidate if os.path.isfile(candidate) else None
    except (OSError, ValueError):
        return None


def socket_directories(doc: Dict[str, Any]) -> Iterator[Tuple[Path, str, str]]:
    """(key, directory, kind) of every unix socket the agent binds for `start.listen`. Root
    creates the socket there and removes a stale one first: whoever can write that directory
    (or one above it) could swap a path in between and have root remove another file."""
    defaults = doc.get("defaults") or {}
    for index, entry in enumerate(doc.get("watches", [])):
        merged = merged_entry(entry, defaults)
        start = merged.get("start") or {}
        for l_index, address in enumerate(start.get("listen") or ()):
            if isinstance(address, str) and address.startswith("/"):
                key = (("watches", index) if "start" in entry else ("defaults",)) + ("start", "listen", l_index)
                yield key, os.path.dirname(address) or "/", f"directory of listen socket of watch {merged['name']}"

