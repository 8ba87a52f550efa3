"""What the one decision is asked, and what it answers: plain data that crosses into the
checking child and back as JSON (decide.py decides, child.py carries)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ..refusal import Refusal


@dataclass
class Request:
    """What to decide on, and against what. Plain data: it crosses into the child as JSON."""

    path: str                          # named in every message (a file, or the pull URL)
    data: bytes
    sig: Optional[bytes] = None
    sig_path: Optional[str] = None
    trusted_dir: Optional[str] = None  # None: signatures are not looked at (check without keys)
    revoked: Optional[str] = None
    host_name: Optional[str] = None    # None: the scope is not matched against a host
    host_groups: List[str] = field(default_factory=list)
    floor: Optional[int] = None        # the highest serial ever applied
    allow_unsigned: bool = False
    allow_expired: bool = False        # the last good copy at start: enforced, flagged expired
    on_this_host: bool = True       # False: skip what only the host has (binaries, users, file safety)


@dataclass
class Verdict:
    """The answer. `doc` is set only when the document is accepted."""

    doc: Optional[Dict[str, Any]] = None
    refusal: Optional[Dict[str, Any]] = None          # Refusal.as_dict()
    problems: List[Dict[str, Any]] = field(default_factory=list)  # file, line, key, message
    key_id: Optional[str] = None
    serial: Optional[int] = None
    signed: bool = False
    trust_problems: List[str] = field(default_factory=list)
    revoked: List[str] = field(default_factory=list)
    revoked_present: Dict[str, str] = field(default_factory=dict)  # revoked key id -> its .pub still trusted.d
    trusted: int = 0
    warnings: List[Dict[str, Any]] = field(default_factory=list)  # file, line, key, message: accepted anyway

    def raise_refusal(self) -> None:
        if self.refusal is not None:
            raise Refusal.from_dict(self.refusal)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)
