"""Does this process hold a listening socket on that address? Read from /proc, never guessed.

After an agent restart, the service the previous agent started still holds its
`start.listen` sockets, so the new agent cannot bind them. That is planned, not a fault,
and the agent says so only when /proc shows the socket in the service's own fds: the
address in the process's network namespace tables (/proc/PID/net/tcp, tcp6, unix) in the
listening state, and that socket's inode among /proc/PID/fd. Bounded: at most MAX_FDS fds
and MAX_LINES table lines are read.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Iterator, Set, Tuple, Union

MAX_FDS = 65536
MAX_LINES = 200000
TCP_LISTEN = "0A"
UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix's Flags column

Address = Union[Tuple[Any, ...], str]


def listens_on(pid: int, family: int, address: Address) -> bool:
    """True if `pid` holds, among its own fds, a socket listening on `address` (as bind()
    takes it); False when it does not, or /proc cannot tell (the process is gone)."""
    try:
        wanted = _listening_inodes(pid, family, address)
        return bool(wanted) and not wanted.isdisjoint(_socket_inodes(pid))
    except OSError:
        return False


def _listening_inodes(pid: int, family: int, address: Address) -> Set[int]:
    if family == socket.AF_UNIX:
        return {inode for path, inode in _unix_listeners(pid) if path == address}
    assert isinstance(address, tuple)
    table = "tcp" if family == socket.AF_INET else "tcp6"
    local = f"{_kernel_hex(family, address[0])}:{address[1]:04X}"
    found = set()
    for fields in _table(f"/proc/{pid}/net/{table}"):
        if len(fields) > 9 and fields[1] == local and fields[3] == TCP_LISTEN:
            found.add(int(fields[9]))
    return found


def _unix_listeners(pid: int) -> Iterator[Tuple[str, int]]:
    for fields in _table(f"/proc/{pid}/net/unix"):
        if len(fields) >= 8 and int(fields[3], 16) & UNIX_ACCEPTING:
            yield fields[7], int(fields[6])


def _table(path: str) -> Iterator[list]:
    with open(path) as handle:
        next(handle, None)  # the header
        for count, line in enumerate(handle):
            if count >= MAX_LINES:
                return
            yield line.split()


def _kernel_hex(family: int, host: str) -> str:
    """The address as /proc/net/tcp{,6} prints it: each 32-bit word in host (little-endian) order."""
    raw = socket.inet_pton(family, host)
    return "".join(raw[i:i + 4][::-1].hex().upper() for i in range(0, len(raw), 4))


def _socket_inodes(pid: int) -> Set[int]:
    found = set()
    folder = f"/proc/{pid}/fd"
    for count, name in enumerate(os.listdir(folder)):
        if count >= MAX_FDS:
            break
        try:
            target = os.readlink(f"{folder}/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found
