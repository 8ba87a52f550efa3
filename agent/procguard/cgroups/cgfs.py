"""Reading and writing cgroup files: short, unbuffered, with errors that name the file."""

from __future__ import annotations

import os
from typing import Dict, List, Optional


class CgroupError(RuntimeError):
    """A cgroup file could not be written or read; the message names it and why. A
    RuntimeError, so that a start whose placing fails is a failed start (spawn.py)."""


def read(path: str) -> Optional[str]:
    try:
        with open(path, "rb", buffering=0) as handle:
            return handle.read(1 << 20).decode("ascii", "replace")
    except OSError:
        return None


def read_int(path: str) -> Optional[int]:
    text = read(path)
    if text is None:
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def read_keyed(path: str) -> Dict[str, int]:
    """A flat-keyed file (memory.events, cpu.stat, memory.oom_control): {key: value}."""
    out: Dict[str, int] = {}
    for line in (read(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def read_pids(path: str) -> List[int]:
    return [int(word) for word in (read(path) or "").split() if word.isdigit()]


def write(path: str, value: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as exc:
        raise CgroupError(f"{path}: {exc.strerror or exc}") from None
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        raise CgroupError(f"{path}: writing {value!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def make_dir(path: str) -> None:
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass
    except OSError as exc:
        raise CgroupError(f"{path}: {exc.strerror or exc}") from None


def remove_dir(path: str) -> bool:
    """rmdir a cgroup; False when it still holds processes or does not exist."""
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False
