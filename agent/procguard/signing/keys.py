"""Ed25519 signing keys and the agent's trust store (trusted public keys, revoked ids).

The key id is derived from the public key itself (sha256 of the raw 32 bytes, first 16 hex
characters), never from a file name, so renaming a .pub file cannot impersonate a key.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..fileio import PathLike
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def key_id(public_key: Ed25519PublicKey) -> str:
    """16 hex chars of sha256(raw public key): short enough to read, long enough to be unique."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate(out_dir: PathLike, name: Optional[str] = None) -> str:
    """Write NAME.key (0600, PKCS#8 PEM) and NAME.pub (SPKI PEM); return the key id.

    NAME defaults to the key id. Never overwrites: an existing file raises FileExistsError,
    because losing a private key that configs were signed with is worse than a failed run.
    """
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    name = name or kid
    if not NAME_RE.match(name):
        raise ValueError(f"key name {name!r} must match {NAME_RE.pattern}")
    out = Path(out_dir)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, pub_path = out / f"{name}.key", out / f"{name}.pub"
    for path in (key_path, pub_path):
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} already exists; refusing to overwrite a key")
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    _write_new(key_path, key_pem, 0o600)
    _write_new(pub_path, pub_pem, 0o644)
    return kid


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """O_EXCL so a file appearing between the check and the write is never clobbered."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)  # umask must not widen or narrow what we promise
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_private_key(path: PathLike) -> Ed25519PrivateKey:
    """Read a PEM private key written by generate(); ValueError if it is not Ed25519."""
    data = Path(path).read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Parse a PEM public key; ValueError if it is not Ed25519."""
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


MAX_REVOKED_BYTES = 1024 * 1024


def read_revoked(path: PathLike) -> Tuple[FrozenSet[str], List[str]]:
    """Key ids from a revocation list (one per line, `#` starts a comment); and problems.

    A missing file means nothing is revoked (whether it may be missing is the caller's
    decision). Any line that is not a key id, a byte-order mark, text that is not UTF-8 or
    a file too large is a problem: the caller refuses configs until it is fixed, because a
    revocation it cannot read is a revocation it might be missing.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_REVOKED_BYTES + 1)
    except FileNotFoundError:
        return frozenset(), []
    except OSError as exc:
        return frozenset(), [f"{path}: cannot be read ({exc.strerror or exc})"]
    if len(raw) > MAX_REVOKED_BYTES:
        return frozenset(), [f"{path}: larger than {MAX_REVOKED_BYTES // 1024} KiB"]
    if raw.startswith(b"\xef\xbb\xbf"):
        return frozenset(), [f"{path}:1: starts with a byte-order mark; save it as plain UTF-8 without BOM"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = raw[:exc.start].count(b"\n") + 1
        return frozenset(), [f"{path}:{where}: not UTF-8 text; one 16-hex-digit key id per line"]
    ids, problems = set(), []
    for lineno, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip().lower()
        if not entry:
            continue
        if KEY_ID_RE.match(entry):
            ids.add(entry)
        else:
            problems.append(f"{path}:{lineno}: {entry!r} is not a 16-hex-digit key id")
    return frozenset(ids), problems


@dataclass
class TrustStore:
    """Public keys the agent accepts, by key id, minus revoked ids.

    Several keys at once is what makes rotation possible: trust old and new, re-sign with
    the new, then revoke the old.
    """

    keys: Dict[str, Ed25519PublicKey] = field(default_factory=dict)
    files: Dict[str, str] = field(default_factory=dict)
    revoked: FrozenSet[str] = frozenset()
    trusted_dir: str = ""
    revoked_path: str = ""
    problems: List[str] = field(default_factory=list)
    revocation_problems: List[str] = field(default_factory=list)

    @classmethod
    def load(cls, trusted_dir: PathLike, revoked_path: Optional[PathLike] = None) -> TrustStore:
        """Read every *.pub in trusted_dir and the revocation list.

        Unreadable key files are skipped and listed in `problems` (failing safe: that key
        is simply not trusted). A missing directory gives an empty store.
        """
        store = cls(trusted_dir=str(trusted_dir), revoked_path=str(revoked_path or ""))
        if revoked_path is not None:
            store.revoked, store.revocation_problems = read_revoked(revoked_path)
            store.problems.extend(store.revocation_problems)
        directory = Path(trusted_dir)
        if not directory.is_dir():
            store.problems.append(f"{directory}: trusted key directory does not exist")
            return store
        for path in sorted(directory.glob("*.pub")):
            try:
                public = load_public_key(path.read_bytes())
            except (OSError, ValueError) as exc:
                store.problems.append(f"{path}: not a usable Ed25519 public key ({exc})")
                continue
            kid = key_id(public)
            store.keys[kid] = public
            store.files[kid] = str(path)
        return store

    def is_revoked(self, kid: str) -> bool:
        return kid in self.revoked

    def lookup(self, kid: str) -> Optional[Ed25519PublicKey]:
        """The trusted, non-revoked key with this id, or None."""
        if kid in self.revoked:
            return None
        return self.keys.get(kid)

    def active_ids(self) -> List[str]:
        return sorted(k for k in self.keys if k not in self.revoked)
