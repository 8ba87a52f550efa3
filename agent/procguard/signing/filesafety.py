"""Refuse files whose permissions would let someone other than root change what runs as root.

A signed config is worth nothing if the trusted key directory, or a start command file it
names, can be rewritten by a non-root user. Ownership is only enforced when the agent runs
as root: an unprivileged agent (tests, trials) owns its own files.
"""

from __future__ import annotations

import os
import stat
from typing import Callable, List, Optional

from . import errors
from .errors import Refusal
from .errors import PathLike


def check_file(path: PathLike, kind: str = "file", *, euid: Optional[int] = None) -> None:
    """Raise Refusal(unsafe_file) if path is group/other-writable or (as root) not root's.

    `kind` names the role in the message ("config", "signature", "start command"...).
    Symlinks are followed: what matters is the file that will be read.
    """
    _check(path, kind, stat.S_ISREG, "a regular file", euid)


def check_dir(path: PathLike, kind: str = "directory", *, euid: Optional[int] = None) -> None:
    """Same as check_file for a directory (whoever can write it can add or replace files)."""
    _check(path, kind, stat.S_ISDIR, "a directory", euid)


def check_inputs(
    config_path: PathLike,
    sig_path: Optional[PathLike] = None,
    trusted_dir: Optional[PathLike] = None,
    revoked_path: Optional[PathLike] = None,
    *,
    euid: Optional[int] = None,
) -> None:
    """Check everything a signed config depends on; missing signature/revocation files pass."""
    check_file(config_path, "config", euid=euid)
    if sig_path is not None and os.path.exists(sig_path):
        check_file(sig_path, "signature", euid=euid)
    if trusted_dir is not None and os.path.isdir(trusted_dir):
        check_dir(trusted_dir, "trusted key directory", euid=euid)
        for name in sorted(os.listdir(trusted_dir)):
            if name.endswith(".pub"):
                check_file(os.path.join(trusted_dir, name), "trusted key", euid=euid)
    if revoked_path is not None and os.path.exists(revoked_path):
        check_file(revoked_path, "revocation list", euid=euid)


def _check(
    path: PathLike, kind: str, is_type: Callable[[int], bool], type_name: str,
    euid: Optional[int],
) -> None:
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise Refusal(
            errors.MISSING_FILE, f"{name}: {kind} does not exist",
            {"file": name, "kind": kind},
        ) from None
    if not is_type(st.st_mode):
        raise Refusal(
            errors.UNSAFE_FILE, f"{name}: {kind} is not {type_name}",
            {"file": name, "kind": kind, "problem": f"not {type_name}"},
        )
    problems: List[str] = []
    fixes: List[str] = []
    writers = [who for who, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
               if st.st_mode & bit]
    if writers:
        problems.append(f"writable by {' and '.join(writers)}")
        fixes.append(f"chmod go-w {name}")
    running_as_root = (os.geteuid() if euid is None else euid) == 0
    if running_as_root and st.st_uid != 0:
        problems.append(f"owned by uid {st.st_uid}, not root")
        fixes.append(f"chown root:root {name}")
    if problems:
        raise Refusal(
            errors.UNSAFE_FILE,
            f"{name}: {kind} is {' and '.join(problems)}; fix: {' && '.join(fixes)}",
            {"file": name, "kind": kind, "problem": "; ".join(problems),
             "fix": " && ".join(fixes)},
        )
