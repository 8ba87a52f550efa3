"""The one reason a config is not applied: `Refusal`, with a stable code.

Ground floor: imports nothing of ours. Every way in (the file on disk, the last good copy
at start, the pull server, `procguard check`) refuses with this one type. `code` is part of
the status JSON contract (`last_refusal.code`, docs/contracts.md) and picks the message
logged (docs/messages.md); `message` is one line for people that names the file, the key
where there is one, the reason and the fix; `fields` are the key=value part of the log line.
"""

from __future__ import annotations

from typing import Dict, Optional

# the config itself: broken YAML, wrong types, unknown keys, failed semantic checks
INVALID = "invalid"
# the checking child could not give a verdict (killed at its time or memory bound)
CHECK_FAILED = "check_failed"
# signatures and keys
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
UNSIGNED = "unsigned"
MALFORMED_SIGNATURE = "malformed_signature"
# admission terms
ROLLBACK = "rollback"
OUT_OF_SCOPE = "out_of_scope"
EXPIRED = "expired"
BAD_NOT_AFTER = "bad_not_after"
MISSING_SERIAL = "missing_serial"
MISSING_SCOPE = "missing_scope"
# files the config, its signature or its programs depend on
UNSAFE_FILE = "unsafe_file"
MISSING_FILE = "missing_file"
BAD_REVOCATION_LIST = "bad_revocation_list"

CODES = (
    INVALID, CHECK_FAILED, BAD_SIGNATURE, UNKNOWN_KEY, REVOKED_KEY, UNSIGNED, MALFORMED_SIGNATURE,
    ROLLBACK, OUT_OF_SCOPE, EXPIRED, BAD_NOT_AFTER, MISSING_SERIAL, MISSING_SCOPE, UNSAFE_FILE,
    MISSING_FILE, BAD_REVOCATION_LIST,
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

    def as_dict(self) -> Dict[str, object]:
        """For the checking child's answer, and the status JSON."""
        return {"code": self.code, "message": self.message, "fields": dict(self.fields)}

    @classmethod
    def from_dict(cls, data: Dict[str, object]) -> Refusal:
        fields = data.get("fields")
        return cls(str(data["code"]), str(data["message"]), dict(fields) if isinstance(fields, dict) else None)
