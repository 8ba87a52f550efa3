"""The anti-rollback floor: the highest serial this host ever applied, kept on its own.

A file of its own (not a field of last-good.json), so a damaged copy of the last good
config cannot take the floor with it. Written atomically, checked on every read (format
and a checksum of the serial), and never lowered. When it cannot be read, it fails
closed: every config is refused until an operator repairs it (`procguard floor --set N`
with the serial in force), because a missing floor is exactly what a replay needs.
"""

from __future__ import annotations

import json
import os
from typing import Optional

from ..fileio import sha256_hex, write_atomically

FILE_NAME = "rollback-floor.json"
FORMAT = 1


class FloorError(Exception):
    """The floor file exists but cannot be trusted; the message says how to repair it."""


def _sum(serial: int) -> str:
    return sha256_hex(f"procguard-floor:{serial}".encode())


class RollbackFloor:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, FILE_NAME)

    def read(self, legacy: Optional[int] = None) -> Optional[int]:
        """The floor (None before the first signed config), or FloorError. `legacy` is the
        floor older agents kept in last-good.json: taken over when no floor file exists."""
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(4096)
        except FileNotFoundError:
            return legacy
        except OSError as exc:
            raise FloorError(self._broken(exc.strerror or str(exc))) from None
        try:
            data = json.loads(raw)
            serial = data["serial"]
            if data.get("format") != FORMAT or isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
                raise ValueError("not a floor record")
            if data.get("sha256") != _sum(serial):
                raise ValueError("checksum does not match")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FloorError(self._broken(str(exc))) from None
        return serial

    def raise_to(self, serial: Optional[int]) -> None:
        """Record an applied serial; the floor only ever goes up."""
        if serial is None:
            return
        try:
            current = self.read()
        except FloorError:
            current = None  # an operator-approved repair: the applied serial is the truth now
        if current is not None and current >= serial:
            return
        self.write(serial)

    def write(self, serial: int) -> None:
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        doc = {"format": FORMAT, "serial": serial, "sha256": _sum(serial)}
        write_atomically(self.path, json.dumps(doc).encode() + b"\n")

    def _broken(self, why: str) -> str:
        return (f"{self.path}: the rollback floor cannot be read ({why}); every config is refused until "
                f"it is repaired: check the serial in force (procguard status) and run "
                f"`procguard floor --state-dir {self.state_dir} --set SERIAL`")
