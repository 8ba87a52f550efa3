"""Signed watch configs: keys, detached signatures, admission policy, file safety, pull.

The engine uses: TrustStore.load, admit, LastGood, check_inputs, PullClient, and
refusal_event() to turn a Refusal into the PG6xxx line to log.

Names are loaded on first use. The resident agent never imports `cryptography` (about
5 MiB resident) or `requests` (about 15 MiB): it verifies in a short-lived child process
(isolated.py) and pulls in a worker only when a pull URL is set.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, Tuple

from ..events.message import Message
from .errors import CODES, Refusal

_LAZY = {
    "Admission": "admission", "HostIdentity": "admission", "admit": "admission", "in_scope": "admission",
    "check_dir": "filesafety", "check_file": "filesafety", "check_inputs": "filesafety",
    "TrustStore": "keys", "generate": "keys", "key_id": "keys", "load_private_key": "keys",
    "PullClient": "pull", "PullError": "pull", "PullResult": "pull",
    "sign": "signature", "verify": "signature",
    "LastGood": "state", "StateError": "state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f".{module}", __name__), name)


def refusal_event(refusal: Refusal, source: str = "file") -> Tuple[Message, Dict[str, object]]:
    """The catalog message and fields to emit for a refusal: `emitter.emit(msg, **fields)`.

    `source` says where the config came from: file, state (at start) or pull.
    """
    from ..events.catalog.security import REFUSAL_MESSAGES

    fields: Dict[str, object] = dict(refusal.fields)
    if refusal.code not in ("unsafe_file", "missing_file"):
        fields["source"] = source
    return REFUSAL_MESSAGES[refusal.code], fields


__all__ = ["CODES", "Refusal", "refusal_event", *sorted(_LAZY)]
