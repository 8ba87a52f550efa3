"""Detached signatures over the exact bytes of a config file.

The signature file is three short text lines, so it diffs well in git and can be read by
eye:

    procguard-signature 1
    key-id a1b2c3d4e5f6a7b8
    ed25519 <base64 of the 64-byte signature>

What is signed is a fixed context string followed by the config bytes, byte for byte
(no YAML normalisation: whatever the agent parses is exactly what was signed). The context
string keeps a procguard signature from being valid for anything else the same key might
sign. Ed25519 is deterministic, so signing the same bytes with the same key always gives
the same file: an Ansible re-run changes nothing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Dict, Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import refusal as errors
from ..refusal import Refusal
from .keys import KEY_ID_RE, PathLike, TrustStore, key_id, load_private_key

VERSION_LINE = "procguard-signature 1"
CONTEXT = b"procguard-config-v1\x00"
MAX_SIGNATURE_FILE = 4096


@dataclass(frozen=True)
class Signature:
    """A detached Ed25519 signature and the key it names."""

    key_id: str
    signature: bytes


def message_for(config_bytes: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers."""
    return CONTEXT + config_bytes


def sign_with(private: Ed25519PrivateKey, config_bytes: bytes) -> bytes:
    """Signature file contents for config_bytes, from a loaded key."""
    sig = private.sign(message_for(config_bytes))
    kid = key_id(private.public_key())
    return format_signature(Signature(kid, sig))


def sign(private_key_path: PathLike, config_bytes: bytes) -> bytes:
    """Signature file contents for config_bytes, signed by the key at private_key_path."""
    return sign_with(load_private_key(private_key_path), config_bytes)


def format_signature(sig: Signature) -> bytes:
    b64 = base64.b64encode(sig.signature).decode("ascii")
    return f"{VERSION_LINE}\nkey-id {sig.key_id}\ned25519 {b64}\n".encode("ascii")


def parse_signature(sig_bytes: bytes, source: str = "signature") -> Signature:
    """Strict parse; anything unexpected is a malformed_signature refusal, never a guess."""

    def bad(why: str) -> Refusal:
        return Refusal(
            errors.MALFORMED_SIGNATURE,
            f"{source}: malformed signature file ({why}); make it again with "
            "`procguard sign --key KEY CONFIG`",
            {"signature": source, "problem": why},
        )

    if len(sig_bytes) > MAX_SIGNATURE_FILE:
        raise bad(f"larger than {MAX_SIGNATURE_FILE} bytes")
    try:
        text = sig_bytes.decode("ascii")
    except UnicodeDecodeError:
        raise bad("not ASCII text") from None
    lines = text.rstrip("\n").split("\n")
    if not lines or lines[0] != VERSION_LINE:
        raise bad(f"first line is not {VERSION_LINE!r}")
    if len(lines) != 3:
        raise bad(f"expected 3 lines, found {len(lines)}")
    kid_word, _, kid = lines[1].partition(" ")
    if kid_word != "key-id" or not KEY_ID_RE.match(kid):
        raise bad("second line is not 'key-id' and 16 hex digits")
    alg, _, b64 = lines[2].partition(" ")
    if alg != "ed25519":
        raise bad("third line is not 'ed25519' and a base64 signature")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise bad("signature is not valid base64") from None
    if len(raw) != 64:
        raise bad(f"signature is {len(raw)} bytes, Ed25519 signatures are 64")
    return Signature(kid, raw)


def _sign_hint(config_path: str) -> str:
    """How to fix it: sign the local file, or, for a pulled config, what the server publishes."""
    if config_path.startswith("https://"):
        return ("sign the file the server publishes there with `procguard sign` and publish its .sig "
                "beside it")
    return f"sign it with `procguard sign --key KEY {config_path}`"


def verify(
    config_bytes: bytes,
    sig_bytes: Optional[bytes],
    trust: TrustStore,
    *,
    config_path: str = "config",
    sig_path: Optional[str] = None,
) -> str:
    """Return the key id that signed config_bytes, or raise Refusal.

    Checks, in order: a signature exists (unsigned), parses (malformed_signature), its key
    is not revoked (revoked_key), is trusted (unknown_key), and matches (bad_signature).
    Revocation is checked before trust so a revoked key whose .pub is still in the
    directory is reported as what it is.
    """
    sig_path = sig_path or f"{config_path}.sig"
    if not sig_bytes:
        raise Refusal(
            errors.UNSIGNED,
            f"{config_path}: no signature ({sig_path} is missing or empty); {_sign_hint(config_path)}",
            {"config": config_path, "signature": sig_path},
        )
    try:
        sig = parse_signature(sig_bytes, sig_path)
    except Refusal as refusal:
        refusal.fields["config"] = config_path
        raise
    fields: Dict[str, object] = {"config": config_path, "key_id": sig.key_id}
    if trust.is_revoked(sig.key_id):
        raise Refusal(
            errors.REVOKED_KEY,
            f"{config_path}: signed by revoked key {sig.key_id} (listed in "
            f"{trust.revoked_path or 'the revocation list'}); re-sign it with a current key",
            fields,
        )
    public = trust.lookup(sig.key_id)
    if public is None:
        where = trust.trusted_dir or "the trusted key directory"
        hint = (
            f"no key in {where} is trusted" if not trust.active_ids()
            else f"trusted: {', '.join(trust.active_ids())}"
        )
        raise Refusal(
            errors.UNKNOWN_KEY,
            f"{config_path}: signed by unknown key {sig.key_id} ({hint}); add its .pub "
            f"to {where} or re-sign with a trusted key",
            fields,
        )
    try:
        public.verify(sig.signature, message_for(config_bytes))
    except InvalidSignature:
        raise Refusal(
            errors.BAD_SIGNATURE,
            f"{config_path}: signature by key {sig.key_id} does not match the file (it was "
            f"changed after signing); re-{_sign_hint(config_path)}",
            fields,
        ) from None
    return sig.key_id
