# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""Sign a watch config on the controller the way the agent verifies it, with `cryptography` only.

Controller-side code (plugin_utils, not module_utils): it never travels to a host, and
AWX/AAP execution environments have ansible-core and `cryptography` but not the procguard
package. The format is the agent's detached signature (docs/security.md), three ASCII lines
over a fixed context string followed by the exact config bytes:

    procguard-signature 1
    key-id <first 16 hex digits of sha256(raw public key)>
    ed25519 <base64 of the 64-byte signature>

Ed25519 is deterministic: the same bytes and key always give the same file, so a re-run
changes nothing. tests/roles/test_signing.py proves the bytes equal `procguard sign`'s.
"""

from __future__ import annotations

import base64
import hashlib
import sys

HEADER = "procguard-signature 1"
CONTEXT = b"procguard-config-v1\x00"


class SigningError(Exception):
    """A config cannot be signed; the message says what is missing and how to fix it."""


def _crypto():
    """The two `cryptography` names we need, or a SigningError that says how to get them."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError as exc:
        raise SigningError(
            f"signing needs the Python package `cryptography` in the controller's Python "
            f"({sys.executable}), which cannot import it ({exc}); install it there "
            "(pip install cryptography, or add it to an execution environment's requirements.txt)"
        ) from None
    return serialization, Ed25519PrivateKey


def sign_config(private_key_pem: bytes, config: bytes, key_source: str = "signing key") -> bytes:
    """The signature file's bytes for `config`, signed by the PEM private key."""
    serialization, ed25519_private_key = _crypto()
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"{key_source}: not a readable unencrypted PEM private key ({exc}); use the NAME.key "
            "that `procguard keygen` wrote (protect it with ansible-vault, not a PEM passphrase)"
        ) from None
    if not isinstance(key, ed25519_private_key):
        raise SigningError(f"{key_source}: a {type(key).__name__}, not an Ed25519 key; use `procguard keygen`")
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = base64.b64encode(key.sign(CONTEXT + config)).decode("ascii")
    key_id = hashlib.sha256(raw_public).hexdigest()[:16]
    return f"{HEADER}\nkey-id {key_id}\ned25519 {signature}\n".encode("ascii")
