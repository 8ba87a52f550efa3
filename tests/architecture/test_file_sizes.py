"""No file of the project grows without bound: an edit script once multiplied docs/ansible.md
to 21 MB (338,861 lines, its Timings block repeated once per character), and nothing failed.
Every tracked file stays under 512 KiB; the largest today is a generated schema of ~100 KiB."""

from __future__ import annotations

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 512 * 1024


def tracked_files():
    done = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"git ls-files failed in {REPO}: {done.stderr.decode(errors='replace').strip()}")
    return [name for name in done.stdout.decode().split("\0") if name]


def test_every_tracked_file_is_under_512_kib():
    files = tracked_files()
    assert len(files) > 100, "the file list is the project's"
    big = {name: os.path.getsize(os.path.join(REPO, name)) for name in files
           if os.path.isfile(os.path.join(REPO, name)) and os.path.getsize(os.path.join(REPO, name)) > LIMIT}
    assert big == {}, f"files over {LIMIT // 1024} KiB (a runaway edit?): {big}"
