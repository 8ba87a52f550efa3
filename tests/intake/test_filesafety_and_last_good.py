"""File safety refusals and the state directory's last good config."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from procguard.events.catalog import security
from procguard.intake.filesafety import check_dir, check_file, check_inputs
from procguard.intake.last_good import LastGood, StateError
from procguard.refusal import CODES, Refusal
from helpers.signing import Env, config_text

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


def make(path: Path, mode: int) -> Path:
    path.write_text("x\n")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o444])
def test_safe_modes_pass(tmp_path: Path, mode: int) -> None:
    check_file(make(tmp_path / "w.yaml", mode), "config")


@pytest.mark.parametrize("mode,who", [(0o664, "group"), (0o646, "others"),
                                      (0o666, "group and others")])
def test_writable_by_group_or_others_refused_with_chmod_fix(tmp_path: Path, mode: int,
                                                           who: str) -> None:
    path = make(tmp_path / "w.yaml", mode)
    with pytest.raises(Refusal) as info:
        check_file(path, "config")
    r = info.value
    assert r.code == "unsafe_file"
    assert r.message.startswith(f"{path}: config is writable by {who}")
    assert f"chmod go-w {path}" in r.message and "\n" not in r.message


def test_group_writable_dir_refused(tmp_path: Path) -> None:
    d = tmp_path / "trusted.d"
    d.mkdir()
    os.chmod(d, 0o775)
    with pytest.raises(Refusal) as info:
        check_dir(d, "trusted key directory")
    assert f"chmod go-w {d}" in info.value.message
    os.chmod(d, 0o755)
    check_dir(d)


@as_root
def test_not_owned_by_root_refused_when_running_as_root(tmp_path: Path) -> None:
    path = make(tmp_path / "start.sh", 0o755)
    os.chown(path, 1000, 1000)
    with pytest.raises(Refusal) as info:
        check_file(path, "start command")
    assert "owned by uid 1000, not root" in info.value.message
    assert f"chown root:root {path}" in info.value.message


@as_root
def test_ownership_not_enforced_when_not_root(tmp_path: Path) -> None:
    path = make(tmp_path / "start.sh", 0o755)
    os.chown(path, 1000, 1000)
    check_file(path, "start command", euid=1000)


@as_root
def test_both_problems_and_both_fixes_in_one_line(tmp_path: Path) -> None:
    path = make(tmp_path / "w.yaml", 0o666)
    os.chown(path, 1000, 1000)
    with pytest.raises(Refusal) as info:
        check_file(path, "config")
    assert info.value.message == (
        f"{path}: config is writable by group and others and owned by uid 1000, not root; "
        f"fix: chmod go-w {path} && chown root:root {path}")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(Refusal) as info:
        check_file(tmp_path / "nope.yaml", "config")
    assert info.value.code == "missing_file"


def test_check_inputs_covers_trusted_keys(env: Env) -> None:
    key = env.new_key("ops")
    config = env.write_config(config_text(), key)
    check_inputs(config, f"{config}.sig", env.trusted, env.revoked)
    os.chmod(env.trusted / "ops.pub", 0o666)
    with pytest.raises(Refusal) as info:
        check_inputs(config, f"{config}.sig", env.trusted, env.revoked)
    assert "ops.pub: trusted key is writable" in info.value.message


def test_catalog_covers_every_refusal_code() -> None:
    assert set(security.REFUSAL_MESSAGES) == set(CODES)
    for msg in security.MESSAGES:
        assert msg.id.startswith("PG6") and msg.explanation
        if msg.severity in ("alert", "crit", "err", "warning"):
            assert msg.action, msg.id


# --- state -------------------------------------------------------------------

def test_empty_state(tmp_path: Path) -> None:
    lg = LastGood.load(tmp_path / "state")
    assert lg.config_bytes is None and lg.last_serial is None


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "state"
    LastGood.load(state).save(b"config\n", b"sig\n", 7, "0123456789abcdef")
    lg = LastGood.load(state)
    assert (lg.config_bytes, lg.sig_bytes, lg.serial, lg.key_id, lg.last_serial) == (
        b"config\n", b"sig\n", 7, "0123456789abcdef", 7)
    assert stat.S_IMODE(os.stat(lg.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert [p.name for p in state.iterdir()] == ["last-good.json"]  # no temp files left


def test_rollback_floor_never_goes_down(tmp_path: Path) -> None:
    lg = LastGood.load(tmp_path)
    lg.save(b"a", b"s", 9, "k")
    lg.save(b"b", None, None, None)  # an unsigned trial config without serial
    again = LastGood.load(tmp_path)
    assert again.config_bytes == b"b" and again.serial is None and again.last_serial == 9


def test_corrupt_state_is_reported(tmp_path: Path) -> None:
    LastGood.load(tmp_path).save(b"a", b"s", 1, "k")
    path = tmp_path / "last-good.json"
    data = json.loads(path.read_text())
    data["config"] = "Yg=="  # "b": checksum no longer matches
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match="checksum"):
        LastGood.load(tmp_path)
    path.write_text("{not json")
    with pytest.raises(StateError):
        LastGood.load(tmp_path)
