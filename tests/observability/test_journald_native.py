"""The journald side of the emitter, on this host: real datagram sockets the test binds stand
in for journald and for a syslog daemon (journald itself runs in test_journald_container.py).

Checked: the native protocol as journald parses it (KEY=value, the length-prefixed form for
values with a newline, a sealed memfd for an entry too big for a datagram); which outputs get
an event: journald only when /dev/log *is* journald's own socket, both when /dev/log is a
syslog daemon of its own, syslog alone while journald is away."""

from __future__ import annotations

import array
import os
import socket
import struct
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from procguard.events.emitter import Emitter
from procguard.events.journald_ids import journald_id


def parse_native(data: bytes) -> Dict[str, str]:
    """journald's reading of one native datagram (man systemd.journal-fields, 'native protocol')."""
    fields: Dict[str, str] = {}
    while data:
        line, sep, rest = data.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            data = rest
        else:
            (length,) = struct.unpack("<Q", rest[:8])
            fields[line.decode()] = rest[8:8 + length].decode()
            assert rest[8 + length:9 + length] == b"\n"
            data = rest[9 + length:]
    return fields


class Datagrams:
    """A bound SOCK_DGRAM socket; `take()` returns what arrived (memfds read through)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def take(self) -> List[bytes]:
        got = []
        while True:
            try:
                data, ancdata, _flags, _addr = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(4))
            except BlockingIOError:
                return got
            for level, kind, payload in ancdata:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    fd = array.array("i", payload[:4])[0]
                    with os.fdopen(fd, "rb") as memfd:
                        memfd.seek(0)  # the sender's offset: journald maps it instead
                        data = memfd.read()
            got.append(data)


@pytest.fixture
def journal(tmp_path) -> Iterator[Datagrams]:
    (tmp_path / "journal").mkdir()
    sock = Datagrams(tmp_path / "journal" / "socket")
    yield sock
    sock.sock.close()


def test_an_event_goes_to_journald_with_its_message_id_and_fields(journal, tmp_path):
    emitter = Emitter(socket_path="", journal_socket=str(journal.path), facility="local3")
    line = emitter.emit("process_died", watch="web", pid=4242, status="signal:KILL", restarts=2, detector="pidfd")
    (entry,) = [parse_native(d) for d in journal.take()]
    assert entry == {
        "MESSAGE": line, "MESSAGE_ID": journald_id("PG1005"), "PRIORITY": "4", "SYSLOG_FACILITY": "19",
        "SYSLOG_IDENTIFIER": "procguard", "PROCGUARD_ID": "PG1005", "PROCGUARD_WATCH": "web",
        "PROCGUARD_PID": "4242", "PROCGUARD_STATUS": "signal:KILL", "PROCGUARD_RESTARTS": "2",
        "PROCGUARD_DETECTOR": "pidfd"}


def test_a_value_with_a_newline_and_an_entry_too_big_for_a_datagram_arrive_whole(journal):
    emitter = Emitter(socket_path="", journal_socket=str(journal.path))
    emitter.emit("internal_error", error="Boom\nsecond line", report="/x")
    emitter.emit("internal_error", error="x" * 400_000, report="/y")  # beyond a datagram: the memfd way
    first, big = [parse_native(d) for d in journal.take()]
    assert first["PROCGUARD_ERROR"] == "Boom\nsecond line" and first["MESSAGE"].startswith("PG1023 ")
    assert big["PROCGUARD_ERROR"] == "x" * 400_000 and big["PROCGUARD_REPORT"] == "/y"


def test_when_dev_log_is_journalds_own_socket_the_event_is_sent_once(journal, tmp_path):
    dev_log = Datagrams(tmp_path / "journal" / "dev-log")  # journald's syslog socket, beside its native one
    (tmp_path / "log").symlink_to(dev_log.path)            # /dev/log -> /run/systemd/journal/dev-log
    emitter = Emitter(socket_path=str(tmp_path / "log"), journal_socket=str(journal.path))
    emitter.emit("agent_stopping", signal="TERM")
    assert len(journal.take()) == 1 and dev_log.take() == [], "journald forwards it to the syslog daemon itself"


def test_a_syslog_daemon_of_its_own_gets_the_line_too_and_takes_over_while_journald_is_away(journal, tmp_path):
    syslog = Datagrams(tmp_path / "rsyslog.sock")
    emitter = Emitter(socket_path=str(syslog.path), journal_socket=str(journal.path))
    emitter.emit("agent_stopping", signal="TERM")
    assert len(journal.take()) == 1
    assert [d.split(b": ", 1)[1] for d in syslog.take()] == [b"PG1002 agent stopping signal=TERM"]
    journal.sock.close()
    os.unlink(journal.path)  # journald stopped
    emitter.emit("agent_stopping", signal="INT")
    assert [d.split(b": ", 1)[1] for d in syslog.take()] == [b"PG1002 agent stopping signal=INT"]
    back = Datagrams(journal.path)  # and back again: the next event reconnects
    emitter.emit("agent_stopping", signal="HUP")
    assert [parse_native(d)["PROCGUARD_SIGNAL"] for d in back.take()] == ["HUP"]
