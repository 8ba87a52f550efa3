"""The one exception the signing package raises for a config it will not apply.

Every refusal carries a stable `code` (the agent maps it to a PG6xxx message and to
`last_refusal.code` in `procguard status --json`), a one-line `message` for people that
names the file, the reason and the fix, and `fields` for the key=value part of the log line.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

# Refusal codes: stable strings, part of the status JSON contract.
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
UNSIGNED = "unsigned"
MALFORMED_SIGNATURE = "malformed_signature"
ROLLBACK = "rollback"
OUT_OF_SCOPE = "out_of_scope"
EXPIRED = "expired"
BAD_NOT_AFTER = "bad_not_after"
MISSING_SERIAL = "missing_serial"
MISSING_SCOPE = "missing_scope"
UNSAFE_FILE = "unsafe_file"
MISSING_FILE = "missing_file"

CODES = (
    BAD_SIGNATURE, UNKNOWN_KEY, REVOKED_KEY, UNSIGNED, MALFORMED_SIGNATURE, ROLLBACK,
    OUT_OF_SCOPE, EXPIRED, BAD_NOT_AFTER, MISSING_SERIAL, MISSING_SCOPE, UNSAFE_FILE,
    MISSING_FILE,
)


class Refusal(Exception):
    """A config (or a file it depends on) that must not be applied, and why."""

    def __init__(self, code: str, message: str, fields: Optional[Dict[str, object]] = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields: Dict[str, object] = dict(fields or {})

    def __str__(self) -> str:
        return self.message
