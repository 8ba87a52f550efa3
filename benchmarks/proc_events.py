"""When did a process exec? The kernel's process events connector (netlink), read in a
thread: each exec comes with the kernel's CLOCK_MONOTONIC time, so the benchmark times the
moment a replacement's program really runs, the same way whoever started it, without
polling /proc (which would compete with the process for a CPU). Needs root."""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Dict, List, Optional

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXEC = 0x00000002
NLMSG_HDR = struct.Struct("=IHHII")        # len, type, flags, seq, pid
CN_MSG = struct.Struct("=IIIIHH")          # idx, val, seq, ack, len, flags
EVENT = struct.Struct("=IIQ")              # what, cpu, timestamp_ns
PID_PAIR = struct.Struct("=ii")            # exec: process_pid, process_tgid


class ExecEvents:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        self.sock.bind((os.getpid(), CN_IDX_PROC))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
        body = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
        self.sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(body), 3, 0, 0, os.getpid()) + body)  # NLMSG_DONE
        self._execs: Dict[int, List[float]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="proc-events", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            offset = NLMSG_HDR.size + CN_MSG.size
            if len(data) < offset + EVENT.size + PID_PAIR.size:
                continue
            what, _cpu, stamp = EVENT.unpack_from(data, offset)
            if what == PROC_EVENT_EXEC:
                _pid, tgid = PID_PAIR.unpack_from(data, offset + EVENT.size)
                with self._lock:
                    self._execs.setdefault(tgid, []).append(stamp / 1e9)

    def last_exec(self, pid: int, after: float) -> Optional[float]:
        """CLOCK_MONOTONIC seconds of the last exec of `pid` seen since `after` (a gate execs
        twice: /bin/sh, then the program), or None."""
        with self._lock:
            return max((t for t in self._execs.get(pid, ()) if t >= after), default=None)

    def close(self) -> None:
        self.sock.close()
