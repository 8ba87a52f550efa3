"""Signed watch configs: keys, detached signatures, admission policy, file safety, pull.

The engine uses: TrustStore.load, admit, LastGood, check_inputs, PullClient, and
refusal_event() to turn a Refusal into the PG6xxx line to log.
"""

from __future__ import annotations

from typing import Dict, Tuple

from ..events.catalog.security import REFUSAL_MESSAGES
from ..events.message import Message
from .admission import Admission, HostIdentity, admit, in_scope
from .errors import CODES, Refusal
from .filesafety import check_dir, check_file, check_inputs
from .keys import TrustStore, generate, key_id, load_private_key
from .pull import PullClient, PullError, PullResult
from .signature import sign, verify
from .state import LastGood, StateError


def refusal_event(refusal: Refusal, source: str = "file") -> Tuple[Message, Dict[str, object]]:
    """The catalog message and fields to emit for a refusal: `emitter.emit(msg, **fields)`.

    `source` says where the config came from: file, state (at start) or pull.
    """
    fields: Dict[str, object] = dict(refusal.fields)
    if refusal.code not in ("unsafe_file", "missing_file"):
        fields["source"] = source
    return REFUSAL_MESSAGES[refusal.code], fields


__all__ = [
    "Admission", "CODES", "HostIdentity", "LastGood", "PullClient", "PullError", "PullResult",
    "Refusal", "StateError", "TrustStore", "admit", "check_dir", "check_file", "check_inputs",
    "generate", "in_scope", "key_id", "load_private_key", "refusal_event", "sign", "verify",
]
