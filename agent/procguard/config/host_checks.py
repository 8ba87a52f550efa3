"""What a config needs of the host it runs on: programs, users, groups and directories that
exist. Run by `procguard check` and by the agent (on the host); not by `procguard sign`,
which may run on a controller that has none of them."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from typing import Any, Dict, Iterator, Optional, Tuple

from .model import SERVICE_PATH, merged_entry

Path = Tuple[Any, ...]
Error = Tuple[Path, str]


def host_errors(doc: Dict[str, Any]) -> Iterator[Error]:
    defaults = doc.get("defaults", {}) or {}
    for index, entry in enumerate(doc.get("watches", [])):
        m = merged_entry(entry, defaults)
        path: Path = ("watches", index)
        if "user" in m.get("match", {}):
            yield from _user(path + ("match", "user"), m["match"]["user"])
        if "pidfile" in m.get("match", {}):
            yield from _pidfile_dir(path + ("match", "pidfile"), m["match"]["pidfile"], (m.get("start") or {}).get("user"))
        start = m.get("start")
        if start is not None:
            yield from _start(path + ("start",), start)
        if "systemd_unit" in m and shutil.which("systemctl", path=SERVICE_PATH) is None:
            yield path + ("systemd_unit",), "needs systemctl, which this host does not have; use `start:` here"
        for p_index, probe in enumerate(m.get("probes", [])):
            if probe["type"] == "exec" and probe["argv"][0].startswith("/"):
                yield from _binary(path + ("probes", p_index, "argv", 0), probe["argv"][0], SERVICE_PATH)
        for a_index, action in enumerate(m["on_giveup"].get("escalate", [])):
            for key in ("argv", "undo_argv"):
                if action["type"] == "command" and key in action and action[key][0].startswith("/"):
                    yield from _binary(path + ("on_giveup", "escalate", a_index, key, 0), action[key][0], SERVICE_PATH)
    for index, hook in enumerate(doc.get("hooks", [])):
        if "command" in hook and hook["command"][0].startswith("/"):
            yield from _binary(("hooks", index, "command", 0), hook["command"][0], SERVICE_PATH)


def _start(path: Path, start: Dict[str, Any]) -> Iterator[Error]:
    if not start.get("shell"):
        yield from _binary(path + ("argv", 0), start["argv"][0], dict(start.get("env", {})).get("PATH", SERVICE_PATH))
    if "user" in start:
        yield from _user(path + ("user",), start["user"])
    if "group" in start:
        try:
            grp.getgrnam(start["group"])
        except (KeyError, ValueError):
            yield path + ("group",), f"group {start['group']!r} does not exist on this host; create it or fix the name"
    if "cwd" in start and not _is_dir(start["cwd"]):
        yield path + ("cwd",), f"{start['cwd']} is not a directory on this host; create it or fix the path"
    for index, address in enumerate(start.get("listen", ())):
        if address.startswith("/") and not _is_dir(os.path.dirname(address)):
            yield path + ("listen", index), (f"{os.path.dirname(address)} is not a directory on this host; "
                                             "create it or fix the path")
    if start.get("listen") and not any(os.access(b, os.X_OK) for b in ("/bin/bash", "/usr/bin/bash")):
        yield path + ("listen",), "needs bash on this host to pass the sockets; install bash or remove `listen`"


def _binary(path: Path, program: str, search_path: str) -> Iterator[Error]:
    try:
        if "/" in program:
            if not os.path.isfile(program):
                yield path, f"{program} does not exist; install it or fix the path"
            elif not os.access(program, os.X_OK):
                yield path, f"{program} is not executable; chmod +x it or fix the path"
        elif shutil.which(program, path=search_path) is None:
            yield path, f"{program!r} is not found in PATH; write its absolute path or install it"
    except ValueError:  # a NUL byte in the name
        yield path, "is not a usable file name; remove control characters"


def _user(path: Path, name: str) -> Iterator[Error]:
    try:
        pwd.getpwnam(name)
    except (KeyError, ValueError):
        yield path, f"user {name!r} does not exist on this host; create it or fix the name"


def _pidfile_dir(path: Path, pidfile: str, user: Optional[str]) -> Iterator[Error]:
    """Whoever can write the pidfile's directory chooses the PID the agent trusts."""
    folder = os.path.dirname(pidfile) or "/"
    try:
        st = os.stat(folder)
    except (OSError, ValueError):
        yield path, f"the directory {folder} does not exist on this host; create it or fix the path"
        return
    owners = {0, os.geteuid()} | ({_uid(user)} if user else set())
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid not in owners:
        who = "root" + (f" or {user}" if user else "")
        yield path, (f"its directory {folder} can be written by others than {who}; use a directory only "
                     f"{who} can write (e.g. /run/NAME, mode 0755)")


def _uid(user: str) -> int:
    try:
        return pwd.getpwnam(user).pw_uid
    except (KeyError, ValueError):
        return -1


def _is_dir(name: str) -> bool:
    try:
        return os.path.isdir(name)
    except ValueError:
        return False
