"""proc/sockets.py: whether a process holds a listening socket on an address, read from
/proc (real sockets of this test process and of a child that does not hold them)."""

from __future__ import annotations

import os
import socket
import subprocess

from procguard.proc.sockets import listens_on


def listening(family: int, address) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind(address)
    sock.listen()
    return sock


def test_tcp_v4_v6_and_any_address_are_found_among_our_fds():
    v4 = listening(socket.AF_INET, ("127.0.0.1", 0))
    anyv4 = listening(socket.AF_INET, ("0.0.0.0", 0))
    v6 = listening(socket.AF_INET6, ("::1", 0))
    try:
        port, port_any, port6 = v4.getsockname()[1], anyv4.getsockname()[1], v6.getsockname()[1]
        assert listens_on(os.getpid(), socket.AF_INET, ("127.0.0.1", port))
        assert listens_on(os.getpid(), socket.AF_INET, ("0.0.0.0", port_any))
        assert listens_on(os.getpid(), socket.AF_INET6, ("::1", port6))
        assert not listens_on(os.getpid(), socket.AF_INET, ("127.0.0.2", port))  # another address
        assert not listens_on(os.getpid(), socket.AF_INET6, ("::1", port))        # another family
    finally:
        for sock in (v4, anyv4, v6):
            sock.close()


def test_a_unix_socket_and_a_connected_not_listening_one(tmp_path):
    path = str(tmp_path / "app.sock")
    server = listening(socket.AF_UNIX, path)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp = listening(socket.AF_INET, ("127.0.0.1", 0))
    try:
        assert listens_on(os.getpid(), socket.AF_UNIX, path)
        assert not listens_on(os.getpid(), socket.AF_UNIX, str(tmp_path / "other.sock"))
        client.connect(tcp.getsockname())
        # the client's own port is connected, not listening
        assert not listens_on(os.getpid(), socket.AF_INET, client.getsockname())
    finally:
        for sock in (server, client, tcp):
            sock.close()


def test_another_process_in_the_same_namespace_does_not_hold_our_socket():
    sock = listening(socket.AF_INET, ("127.0.0.1", 0))
    child = subprocess.Popen(["/bin/sleep", "30"])  # close_fds: it does not inherit the socket
    try:
        assert listens_on(os.getpid(), socket.AF_INET, sock.getsockname())
        assert not listens_on(child.pid, socket.AF_INET, sock.getsockname())
    finally:
        child.kill()
        child.wait()
        sock.close()


def test_a_process_that_is_gone_holds_nothing():
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    assert not listens_on(child.pid, socket.AF_INET, ("127.0.0.1", 80))
