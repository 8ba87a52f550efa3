"""A real rsyslogd, private to one test: its own socket, its own log file."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from typing import List

from .wait import wait_until


class Rsyslog:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.socket = os.path.join(directory, "log.sock")
        self.log = os.path.join(directory, "procguard.log")
        self.conf = os.path.join(directory, "rsyslog.conf")
        self.pidfile = os.path.join(directory, "rsyslogd.pid")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Rsyslog:
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        with open(self.conf, "w") as handle:
            handle.write(
                f'global(workDirectory="{self.directory}")\n'
                'module(load="imuxsock" SysSock.Use="off")\n'
                f'input(type="imuxsock" Socket="{self.socket}" CreatePath="on")\n'
                f'*.* action(type="omfile" file="{self.log}")\n'
            )
        self.proc = subprocess.Popen([binary, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(self.socket), 10, what="rsyslog socket")
        return self

    def lines(self) -> List[str]:
        try:
            with open(self.log, errors="replace") as handle:
                return handle.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        regex = re.compile(pattern)
        return wait_until(lambda: next((line for line in self.lines() if regex.search(line)), None),
                          timeout, what=f"syslog line matching {pattern!r}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
