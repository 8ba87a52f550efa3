"""Finding a watch's processes in one scan of /proc, on real processes."""

from __future__ import annotations

import os
import sys


from helpers.wait import wait_until
from procguard.config.model import Match
from procguard.proc.matcher import Scan, candidates


def found(match, parent_pids=(), exclude=()):
    return sorted(i.pid for i in candidates(match, Scan.take(), parent_pids, exclude)[0])


def test_exact_argv_cmdline_pattern_comm_and_user(spawn, tag):
    a = spawn(["/bin/sleep", tag])
    b = spawn(["/bin/sleep", tag + "1"])
    assert found(Match(argv=("/bin/sleep", tag))) == [a.pid]
    assert found(Match(cmdline=rf"^/bin/sleep {tag}1?$")) == [a.pid, b.pid]
    assert a.pid in found(Match(comm="sleep", cmdline=tag))
    assert found(Match(cmdline=tag, user="root")) == ([a.pid, b.pid] if os.geteuid() == 0 else [])
    assert found(Match(argv=("/bin/sleep", tag)), exclude={a.pid}) == []


def test_parent_criterion_finds_the_children_of_the_parent_watch(spawn, tag):
    parent = spawn([sys.executable, "-c", f"import subprocess; subprocess.run(['/bin/sleep', '{tag}'])"])
    child = wait_until(lambda: found(Match(argv=("/bin/sleep", tag))), 5, what="the parent's child")
    assert len(child) == 1
    assert found(Match(comm="sleep", cmdline=tag, parent="p"), parent_pids=[parent.pid]) == child
    assert found(Match(comm="sleep", cmdline=tag, parent="p"), parent_pids=[1]) == []


def test_pidfile_names_the_process_and_a_stale_one_is_reported(spawn, tag, tmp_path):
    proc = spawn(["/bin/sleep", tag])
    pidfile = tmp_path / "app.pid"
    pidfile.write_text(f"{proc.pid}\n")
    assert found(Match(pidfile=str(pidfile))) == [proc.pid]
    proc.kill()
    proc.wait()
    result, stale = candidates(Match(pidfile=str(pidfile)), Scan.take(), (), ())
    assert result == [] and stale == (str(pidfile), proc.pid, "no such process")
    pidfile.write_text("not a pid\n")
    assert candidates(Match(pidfile=str(pidfile)), Scan.take(), (), ()) == ([], None)
