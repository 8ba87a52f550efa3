"""`start.listen`: the sockets the agent binds and holds for a watch (socket activation).

Each entry is a TCP address, `127.0.0.1:8080` or `[::1]:8080` (an IP literal: a host name
would need DNS when the agent binds), or the absolute path of a unix stream socket. The
agent keeps them open across restarts of the service, so a connection that arrives while
the service restarts waits in the backlog instead of being refused, and hands them to each
started process as fds 3.. (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES: sd_listen_fds).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Tuple, Union

Path = Tuple[Any, ...]
Error = Tuple[Path, str]

DEFAULT_BACKLOG = 128
MAX_UNIX_PATH = 107  # sun_path holds 108 bytes with its NUL


@dataclass(frozen=True)
class ListenAddress:
    """One address a watch listens on, parsed once: what bind() takes, and the text that names it."""

    text: str                                # as written in the config: the key of the socket
    family: int                              # AF_INET, AF_INET6 or AF_UNIX
    address: Union[Tuple[str, int], str]     # what bind() takes

    @property
    def port(self) -> int:
        return self.address[1] if isinstance(self.address, tuple) else 0


@dataclass(frozen=True)
class ListenSpec:
    """The sockets the agent binds and holds for a watch (`start.listen`), and their backlog."""

    addresses: Tuple[ListenAddress, ...]
    backlog: int = DEFAULT_BACKLOG


NO_LISTEN = ListenSpec(())


def parse_address(text: str) -> ListenAddress:
    """The address `text` stands for; ValueError says what is wrong and how to write it."""
    if text.startswith("/"):
        if len(text.encode()) > MAX_UNIX_PATH:
            raise ValueError(f"{text!r} is longer than {MAX_UNIX_PATH} bytes, the limit of a unix socket path; "
                             "use a shorter path")
        if "\0" in text:
            raise ValueError(f"{text!r} holds a NUL byte; write a plain path")
        return ListenAddress(text, socket.AF_UNIX, text)
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is neither HOST:PORT nor an absolute path; write e.g. 127.0.0.1:8080, "
                         "[::1]:8080 or /run/app.sock")
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise ValueError(f"{text!r}: {host!r} is not an IP address; write an IPv4 address, or an IPv6 one in "
                         "brackets ([::1]:8080), not a host name") from None
    if ip.version == 6 and not bracketed:
        raise ValueError(f"{text!r}: put the IPv6 address in brackets, e.g. [{host}]:{port_text}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return ListenAddress(text, family, (str(ip), int(port_text)))


def build_listen(start: Dict[str, Any]) -> ListenSpec:
    """The typed `start.listen` of a checked config (empty: no socket activation)."""
    return ListenSpec(tuple(parse_address(t) for t in start.get("listen", ())),
                      int(start.get("listen_backlog", DEFAULT_BACKLOG)))


def listen_errors(watches: List[Tuple[Path, Dict[str, Any]]]) -> Iterator[Error]:
    """Bad addresses, an address listed twice, or claimed by two watches of the config."""
    owner: Dict[Tuple[int, Any], str] = {}
    for path, start in watches:
        for index, text in enumerate(start.get("listen", ())):
            here = path + ("listen", index)
            try:
                address = parse_address(text)
            except ValueError as exc:
                yield here, str(exc)
                continue
            key = (address.family, address.address)
            if key in owner:
                yield here, f"{text!r} is already listed at {owner[key]}; each address may be bound once per host"
            else:
                owner[key] = ".".join(str(p) for p in here)
