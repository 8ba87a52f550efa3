"""Service output under logrotate: the real logrotate, with the rules the agent role installs,
renames NAME.log away (rename mode, nocreate) again and again while a service writes and
while the agent rotates the same file by size. The agent reopens NAME.log; every line lands
exactly once, whole, and no file ever passes max_size."""

from __future__ import annotations

import collections
import gzip
import os
import re

from helpers import logrotate_rules
from helpers.agent import config_yaml
from helpers.wait import wait_until

MAX_SIZE = 32 << 10
KEEP = 64           # the agent never drops a file here, so every line must be found
ROTATE = 64         # nor does logrotate
PAD = "x" * 40
ROUNDS = 6


def _writer(tag: str, stop: str) -> str:
    """Numbered lines, 20 at a time, until `stop` exists (the pause keeps the volume small)."""
    return (f"i=0; while [ ! -e {stop} ] && [ $i -lt 200000 ]; do j=0; "
            f"while [ $j -lt 20 ]; do i=$((i+1)); j=$((j+1)); printf '{tag}:%07d:{PAD}\\n' $i; done; "
            f"sleep 0.005; done; printf '{tag}:end:%d\\n' $i; exec sleep {tag}")


def _files(logs: str, name: str):
    """Every file holding the service's output: the agent's and logrotate's (decompressed)."""
    found = {}
    for folder in (logs, os.path.join(logs, "rotated")):
        for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            path = os.path.join(folder, entry)
            if entry.startswith(name + ".log"):
                try:
                    with (gzip.open if entry.endswith(".gz") else open)(path, "rb") as handle:
                        found[os.path.relpath(path, logs)] = handle.read()
                except FileNotFoundError:
                    pass  # rotated on by the agent since the listing: the next look finds it
    return found


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0  # between the agent's rename and its reopen


def _agent_rotations(logs: str, name: str) -> int:
    return sum(1 for entry in os.listdir(logs) if re.fullmatch(rf"{name}\.log\.\d+", entry))


def test_logrotate_renames_while_the_service_writes_and_the_agent_rotates(make_agent, tag, tmp_path):
    stop = tmp_path / "stop"
    agent = make_agent(config_yaml([{
        "name": "scribe", "match": {"cmdline": tag},
        "start": {"argv": [_writer(tag, str(stop))], "shell": True, "ready": {"alive_for": 0}},
        "output": {"to": "file", "max_size": MAX_SIZE, "keep": KEEP},
    }])).start()
    logs = os.path.join(agent.state_dir, "logs")
    log = os.path.join(logs, "scribe.log")
    config = tmp_path / "procguard-output"
    config.write_text(logrotate_rules.render(logs, rotate=ROTATE))
    state = str(tmp_path / "logrotate.state")

    for round_ in range(1, ROUNDS + 1):
        before = _agent_rotations(logs, "scribe") if os.path.isdir(logs) else 0
        # the agent has reopened NAME.log and written into it, and rotated it by size since
        wait_until(lambda before=before: _size(log) > 0 and _agent_rotations(logs, "scribe") > before, 30,
                   what=f"writing and a size rotation (round {round_})")
        result = logrotate_rules.run(str(config), state, "-f")
        assert result.returncode == 0, result.stderr
        assert os.path.exists(os.path.join(logs, "rotated", "scribe.log.1")), "logrotate renamed NAME.log away"
    stop.touch()
    end = re.compile(rb"^" + tag.encode() + rb":end:(\d+)$", re.M)
    last = int(wait_until(lambda: next((m for data in _files(logs, "scribe").values() for m in end.finditer(data)), None),
                          30, what="the writer's last line on disk").group(1))

    files = _files(logs, "scribe")
    counts = collections.Counter()
    line = re.compile(rb"^" + tag.encode() + rb":(\d{7}):" + PAD.encode() + rb"$")
    for name, data in files.items():
        assert data.endswith(b"\n"), f"{name} ends mid-line"
        for text in data.splitlines():
            match = line.match(text)
            assert match or end.match(text), f"{name}: a split or torn line {text[:80]!r}"
            if match:
                counts[int(match.group(1))] += 1
    assert sorted(counts) == list(range(1, last + 1)), "every line is there"
    assert set(counts.values()) == {1}, "and only once"
    rotated = [n for n in files if n.startswith("rotated" + os.sep)]
    assert len(rotated) >= ROUNDS - 1 and sum(n.endswith(".gz") for n in rotated) >= ROUNDS - 2
    # the bound: no file passes max_size (not even one the agent wrote into after logrotate's
    # rename), the agent keeps at most KEEP + 1 files and logrotate at most ROTATE, so
    # at most max_size x (keep + 1 + rotate) per service, before compression
    assert all(len(data) <= MAX_SIZE for data in files.values()), {n: len(d) for n, d in files.items() if len(d) > MAX_SIZE}
    assert len(files) - len(rotated) <= KEEP + 1 and len(rotated) <= ROTATE
    assert sum(map(len, files.values())) <= MAX_SIZE * (KEEP + 1 + ROTATE)


def _numbered(first: int, last: int) -> bytes:
    return b"".join(b"%07d\n" % n for n in range(first, last + 1))


def test_a_size_rotation_after_logrotate_took_the_file_only_reopens(tmp_path):
    from procguard.output.rotating import RotatingFile

    log = tmp_path / "w.log"
    out = RotatingFile(str(log), max_size=80, keep=3)   # 10 lines of 8 bytes a file
    out.write(_numbered(1, 6))
    os.rename(log, tmp_path / "taken")                   # logrotate, between two drains
    out.write(_numbered(7, 15))                          # same drain: 7-10 fill the held file
    assert (tmp_path / "taken").read_bytes() == _numbered(1, 10)
    assert log.read_bytes() == _numbered(11, 15), "reopened, not shifted"
    assert not (tmp_path / "w.log.1").exists()
    out.close()


def test_the_next_drain_follows_a_removed_or_recreated_file(tmp_path):
    from procguard.output.rotating import FifoOutput

    log = tmp_path / "w.log"
    out = FifoOutput(str(tmp_path / "w.fifo"), str(log), max_size=1 << 20, keep=1)
    service = out.for_service()
    try:
        for first, take in ((1, log.unlink), (7, lambda: (log.rename(tmp_path / "old"), log.touch(0o640)))):
            os.write(service, _numbered(first, first + 2))
            out.drain()
            take()                                       # removed; then logrotate's `create`
            os.write(service, _numbered(first + 3, first + 5))
            out.drain()
            assert log.read_bytes() == _numbered(first + 3, first + 5)
    finally:
        os.close(service)
        out.close()
    assert (tmp_path / "old").read_bytes() == _numbered(4, 9)
