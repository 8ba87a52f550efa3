"""The signature and the admission terms, in the order the one decision takes them: every
refusal case, rotation, unsigned mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Optional

import pytest
import yaml
from procguard.events import catalog
from procguard.intake.terms import Admission, HostIdentity, admit_terms, in_scope
from procguard.refusal import Refusal
from procguard.signing.signature import sign, verify
from helpers.signing import NOW, Env, Key, config_text


def try_admit(env: Env, data: bytes, key: Optional[Key], host: HostIdentity,
              last_serial: Optional[int] = None, allow_unsigned: bool = False,
              sig: Optional[bytes] = None) -> Admission:
    if sig is None and key is not None:
        sig = sign(key.private, data)
    path = "/etc/procguard/watches.yaml"
    key_id = None
    if sig or not allow_unsigned:
        key_id = verify(data, sig, env.store(), config_path=path)
    doc: Dict[str, Any] = yaml.safe_load(data)
    return admit_terms(path, doc, signed=bool(sig), key_id=key_id, host=host, last_serial=last_serial, now=NOW)


def refused(code: str, *args: Any, **kwargs: Any) -> Refusal:
    with pytest.raises(Refusal) as info:
        try_admit(*args, **kwargs)
    assert info.value.code == code, info.value.message
    assert "/etc/procguard/watches.yaml" in info.value.message
    assert "\n" not in info.value.message
    return info.value


def test_good_config_is_admitted(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    result = try_admit(env, config_text(serial=5), key, host, last_serial=4)
    assert result == Admission(key_id=key.key_id, serial=5, signed=True)


def test_same_serial_again_is_admitted(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    assert try_admit(env, config_text(serial=5), key, host, last_serial=5).serial == 5


def test_flipped_config_byte_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    data = config_text(serial=5)
    sig = sign(key.private, data)
    tampered = data.replace(b"nginx", b"nginy", 1)
    refused("bad_signature", env, tampered, key, host, sig=sig)


def test_unknown_key_refused(env: Env, host: HostIdentity) -> None:
    env.new_key("ops")
    stranger = env.new_key("stranger", trust=False)
    refused("unknown_key", env, config_text(), stranger, host)


def test_revoked_key_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    env.revoke(key)
    refused("revoked_key", env, config_text(), key, host)


def test_lower_serial_replayed_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    old = config_text(serial=3)
    old_sig = sign(key.private, old)  # a genuine, older signed config
    try_admit(env, config_text(serial=4), key, host, last_serial=3)
    r = refused("rollback", env, old, key, host, last_serial=4, sig=old_sig)
    assert "serial 3" in r.message and "4" in r.message
    assert r.fields["serial"] == 3 and r.fields["last_serial"] == 4


def test_other_hosts_scope_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    r = refused("out_of_scope", env, config_text(scope=["db01", "db*", "@db"]), key, host)
    assert "web01" in r.message


def test_expired_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    past = (NOW - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = refused("expired", env, config_text(not_after=past), key, host)
    assert past in r.message


def test_not_yet_expired_admitted(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    future = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert try_admit(env, config_text(not_after=future), key, host).signed


def test_unquoted_yaml_timestamp_not_after(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    data = config_text().replace(b"version: 1\n", b"version: 1\nnot_after: 2020-01-01T00:00:00Z\n")
    refused("expired", env, data, key, host)


def test_bad_not_after_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    refused("bad_not_after", env, config_text(not_after="next tuesday"), key, host)


def test_signed_config_without_serial_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    refused("missing_serial", env, config_text(serial=None), key, host)
    refused("missing_serial", env, config_text().replace(b"serial: 1", b"serial: one"), key, host)
    refused("missing_serial", env, config_text().replace(b"serial: 1", b"serial: true"), key, host)


def test_signed_config_without_scope_refused(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    refused("missing_scope", env, config_text(scope=None), key, host)
    refused("missing_scope", env, config_text(scope=[]), key, host)


def test_signature_checked_before_document(env: Env, host: HostIdentity) -> None:
    """A forged config with no serial reports the forgery, not the missing serial."""
    key = env.new_key("ops")
    sig = sign(key.private, config_text())
    refused("bad_signature", env, config_text(serial=None), key, host, sig=sig)


@pytest.mark.parametrize("scope,expected", [
    (["web01"], True), (["WEB01"], True), (["web*"], True), (["w?b0[0-9]"], True),
    (["@web"], True), (["db01", "@web"], True), (["*"], True),
    (["web0"], False), (["@db"], False), (["db*"], False), (["web01.example.com"], False),
])
def test_scope_matching(host: HostIdentity, scope: list, expected: bool) -> None:  # type: ignore[type-arg]
    assert in_scope(host, scope) is expected


def test_unsigned_refused_without_allow_unsigned(env: Env, host: HostIdentity) -> None:
    env.new_key("ops")
    refused("unsigned", env, config_text(), None, host)


def test_allow_unsigned_admits_unsigned_but_still_checks_terms(env: Env,
                                                               host: HostIdentity) -> None:
    result = try_admit(env, config_text(serial=None, scope=None), None, host, allow_unsigned=True)
    assert result == Admission(key_id=None, serial=None, signed=False)
    refused("out_of_scope", env, config_text(scope=["db01"]), None, host, allow_unsigned=True)
    refused("rollback", env, config_text(serial=1), None, host, last_serial=2,
            allow_unsigned=True)


def test_allow_unsigned_still_refuses_a_bad_signature(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    sig = sign(key.private, config_text(serial=1))
    refused("bad_signature", env, config_text(serial=2), key, host, allow_unsigned=True, sig=sig)


def test_rotation(env: Env, host: HostIdentity) -> None:
    """Both keys trusted; new-signed applies; old revoked; old-signed refused."""
    old = env.new_key("2025")
    floor = try_admit(env, config_text(serial=10), old, host).serial
    new = env.new_key("2026")
    assert len(env.store().active_ids()) == 2
    # during the overlap either key is accepted
    assert try_admit(env, config_text(serial=11), new, host, last_serial=floor).key_id == new.key_id
    assert try_admit(env, config_text(serial=11), old, host, last_serial=floor).key_id == old.key_id
    env.revoke(old, "rotated out")
    assert env.store().active_ids() == [new.key_id]
    assert try_admit(env, config_text(serial=12), new, host, last_serial=11).key_id == new.key_id
    refused("revoked_key", env, config_text(serial=13), old, host, last_serial=12)


def test_every_refusal_maps_to_a_pg6_message(env: Env, host: HostIdentity) -> None:
    key = env.new_key("ops")
    data = config_text(serial=1)
    with pytest.raises(Refusal) as info:
        try_admit(env, data, key, host, last_serial=2)
    msg = catalog.get(catalog.for_refusal(info.value.code))
    assert msg.id == "PG6006"
    line = msg.render({**info.value.fields, "source": "pull"})
    assert line.startswith("PG6006 configuration refused: serial lower than the last applied")
    assert "serial=1" in line and "last_serial=2" in line and "source=pull" in line
