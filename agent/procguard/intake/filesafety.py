"""Refuse files whose permissions would let someone other than root change what root runs.

A signed config is worth nothing if the trusted key directory, or a program it names, can
be rewritten by somebody else. For programs, every directory on the way to the file must
be safe too (as sudo and OpenSSH require): whoever can write a directory can swap the file
in it. A sticky directory such as /tmp is safe for an entry its owner owns, because nobody
else may rename or delete that entry. Ownership is only enforced when the agent runs as
root: an unprivileged agent (tests, trials) owns its own files.
"""

from __future__ import annotations

import os
import stat
from typing import Callable, List, Optional, Set

from ..fileio import PathLike
from ..refusal import MISSING_FILE, UNSAFE_FILE, Refusal


def check_file(path: PathLike, kind: str = "file", *, euid: Optional[int] = None) -> None:
    """Raise Refusal(unsafe_file) if path is group/other-writable or (as root) not root's.

    `kind` names the role in the message ("config", "signature", "start command"...).
    Symlinks are followed: what matters is the file that will be read.
    """
    _check(os.fspath(path), kind, stat.S_ISREG, "a regular file", euid, {0})


def check_dir(path: PathLike, kind: str = "directory", *, euid: Optional[int] = None) -> None:
    """Same as check_file for a directory (whoever can write it can add or replace files)."""
    _check(os.fspath(path), kind, stat.S_ISDIR, "a directory", euid, {0})


def check_program(path: PathLike, kind: str, *, run_as: Optional[int] = None, euid: Optional[int] = None) -> None:
    """A file the agent will execute (or hand to an interpreter): the file and every
    directory above it. `run_as` is the uid it runs as, if not root: that user may own it."""
    check_chain(path, kind, owners={0} if run_as is None else {0, run_as}, euid=euid)


def check_chain(path: PathLike, kind: str, *, owners: Optional[Set[int]] = None, directory: bool = False,
                euid: Optional[int] = None) -> None:
    """A file (or directory) root trusts, and every directory above it (as sudo and
    OpenSSH check): whoever can write any of them can swap what root reads or runs."""
    owners = owners or {0}
    real = os.path.realpath(os.fspath(path))
    if directory:
        _check(real, kind, stat.S_ISDIR, "a directory", euid, owners)
    else:
        _check(real, kind, stat.S_ISREG, "a regular file", euid, owners)
    child, parent = real, os.path.dirname(real)
    while True:
        st = _stat(parent, f"directory of {kind}")
        sticky_ok = bool(st.st_mode & stat.S_ISVTX) and _owner(child) in owners
        _check(parent, f"directory of {kind} {real}", stat.S_ISDIR, "a directory", euid, owners,
               allow_world_write=sticky_ok)
        if parent == "/":
            return
        child, parent = parent, os.path.dirname(parent)


def check_inputs(
    config_path: PathLike,
    sig_path: Optional[PathLike] = None,
    trusted_dir: Optional[PathLike] = None,
    revoked_path: Optional[PathLike] = None,
    *,
    revoked_required: bool = False,
    euid: Optional[int] = None,
) -> None:
    """Check everything a signed config on disk depends on, with their directories; a
    missing signature passes (the decision refuses it as unsigned)."""
    check_chain(config_path, "config", euid=euid)
    if sig_path is not None and os.path.exists(sig_path):
        check_file(sig_path, "signature", euid=euid)
    check_trust(trusted_dir, revoked_path, revoked_required=revoked_required, euid=euid)


def check_trust(
    trusted_dir: Optional[PathLike],
    revoked_path: Optional[PathLike],
    *,
    revoked_required: bool = False,
    euid: Optional[int] = None,
) -> None:
    """The trusted keys and the revocation list, whichever way the config came (a file, or
    the pull server): each file and every directory above it. A revocation list the
    settings name must exist (an empty file revokes nothing): a missing one would be
    taken for "nothing revoked"."""
    if trusted_dir is not None and os.path.isdir(trusted_dir):
        check_chain(trusted_dir, "trusted key directory", directory=True, euid=euid)
        for name in sorted(os.listdir(trusted_dir)):
            if name.endswith(".pub"):
                check_file(os.path.join(trusted_dir, name), "trusted key", euid=euid)
    if revoked_path is not None:
        if os.path.exists(revoked_path):
            check_chain(revoked_path, "revocation list", euid=euid)
        elif revoked_required:
            name = os.fspath(revoked_path)
            raise Refusal(MISSING_FILE, f"{name}: the revocation list the settings name does not exist; "
                          "create it (an empty file revokes nothing) or drop the setting",
                          {"file": name, "kind": "revocation list"})


def _stat(name: str, kind: str) -> os.stat_result:
    try:
        return os.stat(name)
    except FileNotFoundError:
        raise Refusal(MISSING_FILE, f"{name}: {kind} does not exist", {"file": name, "kind": kind}) from None
    except (OSError, ValueError) as exc:
        raise Refusal(UNSAFE_FILE, f"{name}: {kind} cannot be examined ({exc})",
                      {"file": name, "kind": kind, "problem": str(exc)}) from None


def _owner(name: str) -> int:
    try:
        return os.stat(name).st_uid
    except OSError:
        return -1


def _check(name: str, kind: str, is_type: Callable[[int], bool], type_name: str, euid: Optional[int],
           owners: Set[int], allow_world_write: bool = False) -> None:
    st = _stat(name, kind)
    if not is_type(st.st_mode):
        raise Refusal(UNSAFE_FILE, f"{name}: {kind} is not {type_name}",
                      {"file": name, "kind": kind, "problem": f"not {type_name}"})
    problems: List[str] = []
    fixes: List[str] = []
    bits = (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
    writers = [who for who, bit in bits if st.st_mode & bit and not allow_world_write]
    if writers:
        problems.append(f"writable by {' and '.join(writers)}")
        fixes.append(f"chmod go-w {name}")
    running_as_root = (os.geteuid() if euid is None else euid) == 0
    if running_as_root and st.st_uid not in owners:
        problems.append(f"owned by uid {st.st_uid}, not root")
        fixes.append(f"chown root:root {name}")
    if problems:
        raise Refusal(
            UNSAFE_FILE,
            f"{name}: {kind} is {' and '.join(problems)}; fix: {' && '.join(fixes)}",
            {"file": name, "kind": kind, "problem": "; ".join(problems), "fix": " && ".join(fixes)},
        )
