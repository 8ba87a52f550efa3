"""`procguard keygen`, `sign`, `verify`: exit codes and one-line messages."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import List, Tuple

import pytest
from procguard.cli import keys_cmd
from helpers.signing import Env, config_text


def run(argv: List[str], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    """Dispatch like cli/main.py does, with only this module's sub-commands registered."""
    parser = argparse.ArgumentParser(prog="procguard")
    sub = parser.add_subparsers(dest="command")
    keys_cmd.register(sub)
    args = parser.parse_args(argv)
    code = int(args.func(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> str:
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def signed(env: Env, capsys: pytest.CaptureFixture[str]) -> Tuple[Path, Path]:
    code, out, _ = run(["keygen", "--out", str(env.keys), "--name", "ops"], capsys)
    assert code == 0
    pub = env.keys / "ops.pub"
    (env.trusted / "ops.pub").write_bytes(pub.read_bytes())
    config = env.write_config(config_text(serial=3))
    code, out, _ = run(["sign", "--key", str(env.keys / "ops.key"), str(config)], capsys)
    assert code == 0
    return config, env.keys / "ops.key"


def verify_args(env: Env, config: Path) -> List[str]:
    return ["verify", "--trusted-keys", str(env.trusted), "--revoked", str(env.revoked),
            str(config)]


def test_keygen_prints_key_id_and_refuses_overwrite(env: Env,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["keygen", "--out", str(env.keys), "--name", "ops"], capsys)
    assert code == 0 and one_line(out).startswith("key id ")
    assert stat.S_IMODE(os.stat(env.keys / "ops.key").st_mode) == 0o600
    code, _, err = run(["keygen", "--out", str(env.keys), "--name", "ops"], capsys)
    assert code == 1
    assert "ops.key already exists" in one_line(err)


def test_sign_writes_config_sig_and_is_idempotent(env: Env, signed: Tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config, key = signed
    sig = Path(f"{config}.sig")
    first = sig.read_bytes()
    mtime = sig.stat().st_mtime_ns
    code, out, _ = run(["sign", "--key", str(key), str(config)], capsys)
    assert code == 0 and "unchanged" in one_line(out)
    assert sig.read_bytes() == first and sig.stat().st_mtime_ns == mtime
    code, _, _ = run(["sign", "--key", str(key), "--out", str(env.root / "x.sig"), str(config)],
                     capsys)
    assert code == 0 and (env.root / "x.sig").read_bytes() == first
    assert stat.S_IMODE(sig.stat().st_mode) == 0o644


def test_sign_refuses_config_without_serial_or_scope(env: Env, signed: Tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, key = signed
    for data in (config_text(serial=None), config_text(scope=None)):
        config = env.write_config(data, name="bad.yaml")
        code, _, err = run(["sign", "--key", str(key), str(config)], capsys)
        assert code == 1 and str(config) in one_line(err)
        assert not Path(f"{config}.sig").exists()


def test_sign_refuses_what_every_agent_would_refuse_but_not_what_only_the_host_lacks(
        env: Env, signed: Tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, key = signed
    bad = config_text(serial=3).replace(b"match: {comm: nginx}", b"match: {comm: nginx}\n    bogus: 1")
    config = env.write_config(bad, name="bad.yaml")
    code, _, err = run(["sign", "--key", str(key), str(config)], capsys)
    assert code == 1 and "unknown key" in err and "agents would refuse it, so it was not signed" in err
    assert not Path(f"{config}.sig").exists()
    # /usr/sbin/nginx need not exist on the signing machine (the controller): the host checks it
    good = env.write_config(config_text(serial=3), name="good.yaml")
    assert run(["sign", "--key", str(key), str(good)], capsys)[0] == 0


def test_sign_refuses_world_readable_private_key(env: Env, signed: Tuple[Path, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config, key = signed
    os.chmod(key, 0o644)
    code, _, err = run(["sign", "--key", str(key), str(config)], capsys)
    assert code == 1 and f"chmod 600 {key}" in one_line(err)


def test_verify_good(env: Env, signed: Tuple[Path, Path],
                     capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    code, out, err = run(verify_args(env, config), capsys)
    assert code == 0, err
    assert "good signature" in one_line(out) and "serial 3" in out


def test_verify_tampered_config(env: Env, signed: Tuple[Path, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    config.write_bytes(config.read_bytes().replace(b"serial: 3", b"serial: 4"))
    code, out, err = run(verify_args(env, config), capsys)
    line = one_line(err)
    assert code == 1 and out == ""
    assert str(config) in line and "does not match" in line and "procguard sign" in line


def test_verify_missing_signature(env: Env, signed: Tuple[Path, Path],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    os.unlink(f"{config}.sig")
    code, _, err = run(verify_args(env, config), capsys)
    assert code == 1 and "no signature" in one_line(err) and str(config) in err


def test_verify_unknown_and_revoked_key(env: Env, signed: Tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    os.unlink(env.trusted / "ops.pub")
    code, _, err = run(verify_args(env, config), capsys)
    assert code == 1 and "unknown key" in one_line(err)
    (env.trusted / "ops.pub").write_bytes((env.keys / "ops.pub").read_bytes())
    kid = (Path(f"{config}.sig").read_text().split("\n")[1]).split()[1]
    env.revoked.write_text(f"{kid}\n")
    code, _, err = run(verify_args(env, config), capsys)
    assert code == 1 and "revoked key" in one_line(err)


def test_verify_with_host_checks_scope(env: Env, signed: Tuple[Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    args = verify_args(env, config)
    code, _, err = run(args[:1] + ["--host", "db01"] + args[1:], capsys)
    assert code == 1 and "not in the config's scope" in one_line(err)
    code, out, _ = run(args[:1] + ["--host", "web01"] + args[1:], capsys)
    assert code == 0 and "web01 in scope" in out


def test_verify_with_separate_signature_path_for_ansible_validate(
        env: Env, signed: Tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = signed
    tmp = env.root / "ansible-tmp-123"
    tmp.write_bytes(config.read_bytes())
    args = verify_args(env, tmp)
    code, _, err = run(args[:1] + ["--signature", f"{config}.sig"] + args[1:], capsys)
    assert code == 0, err


def test_verify_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["verify"], capsys)
    assert info.value.code == 2


def test_defaults_follow_contracts() -> None:
    parser = argparse.ArgumentParser(prog="procguard")
    keys_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["verify", "w.yaml"])
    assert args.trusted_keys == "/etc/procguard/trusted.d"
    assert args.revoked == "/etc/procguard/revoked.txt"
    assert args.signature is None  # CONFIG + ".sig"
