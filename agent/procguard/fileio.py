"""Files the agent writes and sums, done one careful way.

Ground floor: imports nothing of ours. `write_atomically` is the only way the agent
replaces a file: a fresh temporary file beside the target (O_EXCL and O_NOFOLLOW, so a
planted link is never followed), the mode set exactly (not left to the umask), fsync,
rename, fsync of the directory. Readers see the old content or the new, whole.
"""

from __future__ import annotations

import importlib
import os
from typing import Iterable, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def which(program: str, path: Optional[str] = None) -> Optional[str]:
    """The executable `program` would run as, searched in `path` (default $PATH), as
    shutil.which finds it: here so the agent need not load shutil (and bz2, lzma with it)."""
    if os.path.dirname(program):
        return program if _executable(program) else None
    search = os.environ.get("PATH", os.confstr("CS_PATH") or os.defpath) if path is None else path
    seen = set()
    for folder in search.split(os.pathsep) if search else ():
        if folder in seen:
            continue
        seen.add(folder)
        candidate = os.path.join(folder, program)
        if _executable(candidate):
            return candidate
    return None


def _executable(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK) and not os.path.isdir(path)


def write_atomically(path: PathLike, data: Union[bytes, Iterable[bytes]], mode: int = 0o600) -> None:
    """`data` is the whole content, or chunks of it (written as they come, never all in memory)."""
    target = os.fspath(path)
    directory = os.path.dirname(target) or "."
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        for chunk in ([data] if isinstance(data, bytes) else data):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def same_content(path: PathLike, data: bytes) -> bool:
    """True when the file at `path` holds exactly `data` (a write can then be skipped)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False


def sha256_hex(data: bytes) -> str:
    """sha256 without importing hashlib, which maps all of OpenSSL (about 4 MiB resident)
    into the long-running agent; the interpreter's built-in module does the same sum."""
    for name in ("_sha256", "_sha2", "hashlib"):  # CPython <= 3.11, >= 3.12, anything else
        try:
            module = importlib.import_module(name)
            return str(module.sha256(data).hexdigest())
        except (ImportError, AttributeError):
            continue
    raise RuntimeError("no sha256 implementation")
