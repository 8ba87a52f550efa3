"""journald's MESSAGE_ID for each catalog entry, and the journal field names of its fields.

A MESSAGE_ID is 128 bits, written as 32 lowercase hex digits. Ours is the name-based UUID
(version 5) of the PG ID in procguard's own namespace below, so it is derived, never
stored: the same PG ID gives the same MESSAGE_ID in every release, on every host, and
`journalctl MESSAGE_ID=...` keeps finding an event after an upgrade. The namespace was
drawn once at random and must never change.

The sum is made with the interpreter's built-in sha1 module rather than `uuid`/`hashlib`,
which would map OpenSSL into the long-running agent (see docs/architecture.md, Memory).
"""

from __future__ import annotations

import importlib
import re
from typing import Union

from .message import Message

NAMESPACE = "0643e3195afb40f0935bc64722337f0d"
FIELD_PREFIX = "PROCGUARD_"


def _sha1(data: bytes) -> bytes:
    for name in ("_sha1", "hashlib"):  # CPython's built-in module, anything else
        try:
            return bytes(importlib.import_module(name).sha1(data).digest())
        except (ImportError, AttributeError):
            continue
    raise RuntimeError("no sha1 implementation")


def journald_id(message: Union[Message, str]) -> str:
    """MESSAGE_ID of a catalog entry (a Message or its PG ID): uuid5(NAMESPACE, 'PG1005').hex."""
    pg_id = message.id if isinstance(message, Message) else message
    digest = bytearray(_sha1(bytes.fromhex(NAMESPACE) + pg_id.encode("ascii"))[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def field_name(key: str) -> str:
    """Journal field of a message field: `watch` -> PROCGUARD_WATCH (upper case, A-Z 0-9 _)."""
    return FIELD_PREFIX + re.sub(r"[^A-Z0-9_]", "_", key.upper())
