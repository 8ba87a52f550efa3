"""A pidfile never makes the agent adopt, or signal, the wrong process (issue 10 item 6).

Before: a PID reused less than 2 s after the pidfile was written was adopted (11 of 18),
and with only `pidfile:` in `match` any process older than the file was adopted, whoever
wrote it, so a service user could make root's agent kill sshd.
"""

from __future__ import annotations

import os
import pwd

import pytest

from helpers.agent import cli, config_yaml
from procguard.config.model import Match
from procguard.proc import procfs
from procguard.proc.matcher import Scan, candidates

NOBODY = pwd.getpwnam("nobody").pw_uid
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown and to run as nobody")


@pytest.fixture
def process(spawn, tag):
    return lambda user=None: spawn(["/bin/sleep", tag], user=user)


def pidfile_for(tmp_path, pid, before_start=None):
    path = tmp_path / "app.pid"
    path.write_text(f"{pid}\n")
    if before_start is not None:
        started = procfs.started_wall(procfs.read_stat(pid).start_ticks)
        os.utime(path, (started - before_start, started - before_start))
    return str(path)


def found(match):
    return candidates(match, Scan.take(), (), ())


def test_the_writers_process_is_trusted(process, tmp_path, tag):
    proc = process()
    path = pidfile_for(tmp_path, proc.pid)
    assert [i.pid for i in found(Match(pidfile=path, cmdline=tag))[0]] == [proc.pid]


@pytest.mark.parametrize("seconds_before", [0.5, 1.5])
def test_a_pid_reused_after_the_file_was_written_is_not_adopted(process, tmp_path, tag, seconds_before):
    proc = process()  # the PID's new owner started after the file named it
    path = pidfile_for(tmp_path, proc.pid, before_start=seconds_before)
    result, note = found(Match(pidfile=path, cmdline=tag))
    assert result == [] and note == (path, proc.pid, "the process started after the file was written")


@as_root
def test_a_pidfile_owned_by_someone_else_is_not_trusted(process, tmp_path, tag):
    proc = process()
    path = pidfile_for(tmp_path, proc.pid)
    os.chown(path, NOBODY, NOBODY)
    result, note = found(Match(pidfile=path, cmdline=tag))
    assert result == [] and "owned by uid" in note[2]


@as_root
def test_a_service_users_pidfile_cannot_name_an_older_root_process(process, tmp_path, tag):
    older = process()                # stands for sshd: root's, older than the pidfile
    path = pidfile_for(tmp_path, older.pid)
    os.chown(path, NOBODY, NOBODY)   # written by the service user
    result, _note = found(Match(pidfile=path, run_as="nobody"))
    assert result == [], "trusted owner, but the process does not run as the service user"
    own = process(user="nobody")
    path = pidfile_for(tmp_path, own.pid)
    os.chown(path, NOBODY, NOBODY)
    assert [i.pid for i in found(Match(pidfile=path, run_as="nobody"))[0]] == [own.pid]


def test_a_pidfile_alone_is_a_config_error_unless_the_risk_is_accepted(tmp_path):
    path = tmp_path / "w.yaml"
    watch = {"name": "d", "match": {"pidfile": str(tmp_path / "d.pid")}}
    path.write_text(config_yaml([watch]))
    refused = cli("check", str(path))
    assert refused.returncode == 1 and "match.pidfile: alone does not identify a process" in refused.stderr
    watch["match"]["pidfile_alone"] = True
    path.write_text(config_yaml([watch]))
    assert cli("check", str(path)).returncode == 0


def test_a_pidfile_in_a_directory_others_can_write_is_a_config_error(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    os.chmod(folder, 0o777)
    path = tmp_path / "w.yaml"
    path.write_text(config_yaml([{"name": "d", "match": {"pidfile": str(folder / "d.pid"), "cmdline": "d"}}]))
    refused = cli("check", str(path))
    assert refused.returncode == 1 and "can be written by others than root" in refused.stderr
