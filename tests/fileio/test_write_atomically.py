"""The one careful atomic write (procguard/fileio.py), used for every file the agent replaces."""

from __future__ import annotations

import os
import stat

import pytest

from procguard.fileio import write_atomically


def test_write_atomically_sets_0644_whatever_the_umask_and_leaves_no_temporary(tmp_path):
    old = os.umask(0o077)
    try:
        write_atomically(str(tmp_path / "m.prom"), [b"a 1\n", b"b 2\n"], 0o644)
    finally:
        os.umask(old)
    assert (tmp_path / "m.prom").read_text() == "a 1\nb 2\n"
    assert stat.S_IMODE((tmp_path / "m.prom").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.prom"]


def test_write_atomically_keeps_the_old_file_when_the_new_content_fails(tmp_path):
    path = tmp_path / "m.prom"
    path.write_text("old 1\n")

    def broken():
        yield b"new 1\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(str(path), broken(), 0o644)
    assert path.read_text() == "old 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.prom"]


def test_write_atomically_replaces_a_stale_temporary_and_never_follows_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / ".m.prom.tmp").symlink_to(victim)
    write_atomically(str(tmp_path / "m.prom"), [b"x 1\n"], 0o644)
    assert victim.read_text() == "keep\n"
    assert (tmp_path / "m.prom").read_text() == "x 1\n"
