"""Helpers for the signing tests: real keys, real files, a real trust store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Sequence

from procguard.signing import TrustStore, generate, sign

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=timezone.utc)


@dataclass
class Key:
    key_id: str
    private: Path
    public: Path


def config_text(serial: Optional[int] = 1, scope: Optional[Sequence[str]] = ("web01",),
                not_after: Optional[str] = None, note: str = "") -> bytes:
    """A small watch config; `note` varies the bytes without changing meaning."""
    lines: List[str] = ["version: 1"]
    if serial is not None:
        lines.append(f"serial: {serial}")
    if scope is not None:
        lines.append("scope: [" + ", ".join(f'"{s}"' for s in scope) + "]")
    if not_after is not None:
        lines.append(f'not_after: "{not_after}"')
    if note:
        lines.append(f"# {note}")
    lines += [
        "watches:",
        "  - name: web",
        "    match: {comm: nginx}",
        "    start: {argv: [/usr/sbin/nginx, -g, 'daemon off;']}",
    ]
    return ("\n".join(lines) + "\n").encode()


class Env:
    """A scratch /etc/procguard: keys dir, trusted.d, revoked.txt."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys = root / "keys"
        self.trusted = root / "trusted.d"
        self.revoked = root / "revoked.txt"
        self.trusted.mkdir(mode=0o755)
        os.chmod(self.trusted, 0o755)

    def new_key(self, name: str, trust: bool = True) -> Key:
        kid = generate(self.keys, name)
        key = Key(kid, self.keys / f"{name}.key", self.keys / f"{name}.pub")
        if trust:
            self.trust(key)
        return key

    def trust(self, key: Key) -> None:
        dest = self.trusted / key.public.name
        dest.write_bytes(key.public.read_bytes())
        os.chmod(dest, 0o644)

    def revoke(self, key: Key, comment: str = "") -> None:
        with open(self.revoked, "a") as fh:
            fh.write(f"{key.key_id}  # {comment or 'revoked in test'}\n")

    def store(self) -> TrustStore:
        return TrustStore.load(self.trusted, self.revoked)

    def write_config(self, data: bytes, key: Optional[Key] = None,
                     name: str = "watches.yaml") -> Path:
        path = self.root / name
        path.write_bytes(data)
        os.chmod(path, 0o644)
        if key is not None:
            sig = Path(f"{path}.sig")
            sig.write_bytes(sign(key.private, data))
            os.chmod(sig, 0o644)
        return path
