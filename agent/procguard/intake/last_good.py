"""The last good config, its signature and the highest serial ever applied, kept on disk.

This is what keeps protection going after a reboot even if the config file was tampered
with: the agent re-admits the saved copy instead. One JSON file, replaced atomically
(temporary file, fsync, rename, fsync of the directory), so a crash leaves either the old
state or the new one, never a mix of one config with another's signature.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ..fileio import PathLike, sha256_hex, write_atomically

FILE_NAME = "last-good.json"
FORMAT = 1


class StateError(Exception):
    """The state file exists but cannot be trusted (corrupt, wrong format)."""


@dataclass
class LastGood:
    """What the state directory holds. Empty (all None) before the first save."""

    state_dir: str
    config_bytes: Optional[bytes] = None
    sig_bytes: Optional[bytes] = None
    serial: Optional[int] = None
    key_id: Optional[str] = None
    last_serial: Optional[int] = None  # kept for older agents; the floor has its own file (floor.py)
    saved_at: Optional[str] = None

    @property
    def path(self) -> str:
        return os.path.join(self.state_dir, FILE_NAME)

    @classmethod
    def load(cls, state_dir: PathLike) -> LastGood:
        """Read the saved state: absent gives an empty LastGood, corrupt raises StateError."""
        self = cls(state_dir=os.fspath(state_dir))
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return self
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            self.config_bytes = _unb64(data.get("config"))
            self.sig_bytes = _unb64(data.get("signature"))
            self.serial = _opt_int(data.get("serial"))
            self.last_serial = _opt_int(data.get("last_serial"))
            self.key_id = data.get("key_id")
            self.saved_at = data.get("saved_at")
            if self.config_bytes is not None and (
                sha256_hex(self.config_bytes) != data.get("config_sha256")
            ):
                raise ValueError("config checksum does not match")
        except (ValueError, TypeError, AttributeError) as exc:
            raise StateError(f"{self.path}: unreadable state ({exc}); remove it to start "
                             "afresh (the rollback floor is then lost)") from None
        return self

    def save(
        self,
        config_bytes: bytes,
        sig_bytes: Optional[bytes],
        serial: Optional[int],
        key_id: Optional[str],
    ) -> None:
        """Record a config that was just applied. The rollback floor never goes down."""
        floor = self.last_serial
        if serial is not None:
            floor = serial if floor is None else max(floor, serial)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data: Dict[str, Any] = {
            "format": FORMAT,
            "serial": serial,
            "last_serial": floor,
            "key_id": key_id,
            "saved_at": now,
            "config_sha256": sha256_hex(config_bytes),
            "config": base64.b64encode(config_bytes).decode("ascii"),
            "signature": (base64.b64encode(sig_bytes).decode("ascii")
                          if sig_bytes is not None else None),
        }
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        write_atomically(self.path, json.dumps(data, indent=1).encode("utf-8") + b"\n")
        self.config_bytes, self.sig_bytes = config_bytes, sig_bytes
        self.serial, self.key_id, self.last_serial, self.saved_at = serial, key_id, floor, now


def _unb64(value: Any) -> Optional[bytes]:
    if value is None:
        return None
    return base64.b64decode(value, validate=True)


def _opt_int(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"serial {value!r} is not an integer")
    return value
