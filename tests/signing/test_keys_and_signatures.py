"""Keys, trust store and detached signatures."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from procguard.refusal import Refusal
from procguard.signing.keys import TrustStore, generate
from procguard.signing.signature import sign, verify
from procguard.signing.keys import load_private_key, read_revoked
from helpers.signing import Env, config_text


def test_keygen_writes_private_0600_and_public_with_derived_key_id(env: Env) -> None:
    kid = generate(env.keys, "ops")
    key_mode = stat.S_IMODE(os.stat(env.keys / "ops.key").st_mode)
    assert key_mode == 0o600
    public = load_private_key(env.keys / "ops.key").public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == hashlib.sha256(raw).hexdigest()[:16]
    assert (env.keys / "ops.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_keygen_refuses_to_overwrite(env: Env) -> None:
    generate(env.keys, "ops")
    before = (env.keys / "ops.key").read_bytes()
    with pytest.raises(FileExistsError):
        generate(env.keys, "ops")
    assert (env.keys / "ops.key").read_bytes() == before


def test_keygen_default_name_is_key_id(env: Env) -> None:
    kid = generate(env.keys)
    assert (env.keys / f"{kid}.key").exists() and (env.keys / f"{kid}.pub").exists()


def test_signing_twice_gives_identical_bytes(env: Env) -> None:
    key = env.new_key("ops")
    data = config_text(serial=7)
    assert sign(key.private, data) == sign(key.private, data)


def test_signature_file_format(env: Env) -> None:
    key = env.new_key("ops")
    lines = sign(key.private, config_text()).decode().splitlines()
    assert lines[0] == "procguard-signature 1"
    assert lines[1] == f"key-id {key.key_id}"
    assert lines[2].startswith("ed25519 ")


def test_good_signature_verifies_and_names_key(env: Env) -> None:
    key = env.new_key("ops")
    data = config_text()
    assert verify(data, sign(key.private, data), env.store()) == key.key_id


def test_one_flipped_byte_in_config_is_refused(env: Env) -> None:
    key = env.new_key("ops")
    data = config_text()
    sig = sign(key.private, data)
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(Refusal) as info:
        verify(bytes(tampered), sig, env.store(), config_path="/etc/procguard/watches.yaml")
    assert info.value.code == "bad_signature"
    assert "/etc/procguard/watches.yaml" in info.value.message
    assert "procguard sign" in info.value.message


def test_one_flipped_byte_in_signature_is_refused(env: Env) -> None:
    key = env.new_key("ops")
    data = config_text()
    sig = bytearray(sign(key.private, data))
    # flip a bit inside the base64 signature body, keeping it valid base64
    pos = sig.index(b"ed25519 ") + len(b"ed25519 ") + 10
    sig[pos] = ord("A") if sig[pos] != ord("A") else ord("B")
    with pytest.raises(Refusal) as info:
        verify(data, bytes(sig), env.store())
    assert info.value.code == "bad_signature"


def test_any_single_byte_change_in_signature_file_is_refused(env: Env) -> None:
    key = env.new_key("ops")
    data = config_text()
    sig = sign(key.private, data)
    for pos in range(len(sig) - 1):  # the final newline is optional
        changed = bytearray(sig)
        changed[pos] ^= 0x01
        with pytest.raises(Refusal) as info:
            verify(data, bytes(changed), env.store())
        assert info.value.code in ("bad_signature", "malformed_signature", "unknown_key")


def test_unknown_key_is_refused(env: Env) -> None:
    env.new_key("trusted")
    stranger = env.new_key("stranger", trust=False)
    data = config_text()
    with pytest.raises(Refusal) as info:
        verify(data, sign(stranger.private, data), env.store())
    assert info.value.code == "unknown_key"
    assert stranger.key_id in info.value.message


def test_revoked_key_is_refused_even_if_still_in_trusted_dir(env: Env) -> None:
    key = env.new_key("ops")
    env.revoke(key)
    data = config_text()
    with pytest.raises(Refusal) as info:
        verify(data, sign(key.private, data), env.store())
    assert info.value.code == "revoked_key"


def test_missing_signature_is_unsigned(env: Env) -> None:
    env.new_key("ops")
    for sig in (None, b""):
        with pytest.raises(Refusal) as info:
            verify(config_text(), sig, env.store(), config_path="w.yaml")
        assert info.value.code == "unsigned"
        assert "w.yaml.sig" in info.value.message


@pytest.mark.parametrize("sig", [
    b"garbage",
    b"procguard-signature 2\nkey-id 0123456789abcdef\ned25519 AAAA\n",
    b"procguard-signature 1\nkey-id XYZ\ned25519 AAAA\n",
    b"procguard-signature 1\nkey-id 0123456789abcdef\ned25519 !!!\n",
    b"procguard-signature 1\nkey-id 0123456789abcdef\ned25519 AAAA\n",
    b"procguard-signature 1\nkey-id 0123456789abcdef\n",
    b"\xff\xfe",
])
def test_malformed_signature_files(env: Env, sig: bytes) -> None:
    with pytest.raises(Refusal) as info:
        verify(config_text(), sig, env.store())
    assert info.value.code == "malformed_signature"


def test_renamed_pub_file_cannot_pose_as_another_key(env: Env) -> None:
    ops = env.new_key("ops")
    other = env.new_key("other", trust=False)
    # put other's public key under ops's file name: ids come from the key, not the name
    (env.trusted / "ops.pub").write_bytes(other.public.read_bytes())
    store = env.store()
    assert ops.key_id not in store.keys and other.key_id in store.keys


def test_trust_store_skips_bad_files_and_reports_them(env: Env) -> None:
    env.new_key("ops")
    (env.trusted / "broken.pub").write_text("not a key\n")
    env.revoked.write_text("# comment\n\nnot-an-id\n")
    store = env.store()
    assert len(store.keys) == 1
    assert any("broken.pub" in p for p in store.problems)
    assert any("not-an-id" in p for p in store.problems)


def test_revocation_list_comments_and_case(env: Env) -> None:
    env.revoked.write_text("# header\n0123456789ABCDEF  # old laptop\n  \n")
    ids, problems = read_revoked(env.revoked)
    assert ids == {"0123456789abcdef"} and problems == []


def test_missing_trust_dir_gives_empty_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = TrustStore.load(tmp_path / "nope", tmp_path / "nope.txt")
    assert store.keys == {} and store.revoked == frozenset()
