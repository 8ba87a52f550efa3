"""Read-only status for a group, with real users: a member of the group asks `status` and
`metrics` on the read-only socket and is refused everything else; a user outside the group
cannot connect at all; the control socket stays root's.

The test creates its own group and two users (names starting pgobs-), runs the client as
them with runuser, and removes them afterwards. The client runs from a copy of the agent
package in a folder those users may read, with Debian's python3.
"""

from __future__ import annotations

import grp
import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from helpers.agent import AGENT_SRC, config_yaml

PYTHON = "/usr/bin/python3"


def run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=60)


@pytest.fixture
def users() -> Iterator[Tuple[str, str, str]]:
    """(group, member, outsider): made here, removed at the end."""
    suffix = f"{random.randrange(10**6):06d}"
    group, member, outsider = f"pgobs-read{suffix}", f"pgobs-m{suffix}", f"pgobs-o{suffix}"
    made: List[Tuple[str, str]] = []
    try:
        run("groupadd", "--system", group)
        made.append(("groupdel", group))
        for user, extra in ((member, ["-G", group]), (outsider, [])):
            run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", *extra, user)
            made.insert(0, ("userdel", user))
        yield group, member, outsider
    finally:
        for command, name in made:
            subprocess.run([command, name], capture_output=True, timeout=60)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder other users may traverse (pytest's tmp_path is root's only), with the agent code."""
    path = Path(tempfile.mkdtemp(prefix="pgobs-"))
    try:
        path.chmod(0o755)
        shutil.copytree(Path(AGENT_SRC) / "procguard", path / "code" / "procguard",
                        ignore=shutil.ignore_patterns("__pycache__"))
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_user(user: str, code: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    return subprocess.run(["runuser", "-u", user, "--", "env", *[f"{k}={v}" for k, v in env.items()],
                           PYTHON, "-m", "procguard.cli.main", *args],
                          capture_output=True, text=True, timeout=60, cwd="/")


def test_a_member_of_the_group_reads_status_and_metrics_and_nothing_else(make_agent, tmp_path, tag, users, shared_dir):
    group, member, outsider = users
    read_socket = shared_dir / "ro" / "status.sock"
    (tmp_path / "agent.yaml").write_text(json.dumps({"read_only": {"group": group, "socket": str(read_socket)},
                                                     "metrics": {"textfile_dir": ""}}))
    agent = make_agent(config_yaml([{"name": "web", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]),
                       extra_args=["--settings", str(tmp_path / "agent.yaml")]).start()
    agent.wait_event("PG7030", contains=f"group={group}")
    st = read_socket.stat()
    assert (oct(st.st_mode & 0o777), st.st_gid) == ("0o660", grp.getgrnam(group).gr_gid)
    code = shared_dir / "code"

    status = as_user(member, code, "status", "--json", "--socket", str(read_socket))
    assert status.returncode == 0, status.stderr
    assert [w["name"] for w in json.loads(status.stdout)["watches"]] == ["web"]
    metrics = as_user(member, code, "metrics", "--socket", str(read_socket))
    assert metrics.returncode == 0, metrics.stderr
    assert 'procguard_watch_state{watch="web",state="running"} 1' in metrics.stdout

    for command in (["pause", "web", "--socket", str(read_socket)], ["restart", "web", "--socket", str(read_socket)],
                    ["reload", "--socket", str(read_socket)]):
        refused = as_user(member, code, *command)
        assert refused.returncode == 1 and "answers status and metrics only" in refused.stderr, (command, refused.stderr)
    assert agent.watch("web")["state"] == "running", "nothing was paused or restarted"
    assert len(agent.events("PG3004")) == 3

    outside = as_user(outsider, code, "status", "--socket", str(read_socket))
    assert outside.returncode == 3 and "permission denied" in outside.stderr, outside.stderr
    control = as_user(member, code, "status", "--socket", agent.socket)
    assert control.returncode == 3 and "permission denied" in control.stderr, "the control socket stays root's"


def test_a_path_that_is_no_socket_is_left_alone_logged_and_the_agent_runs_on(make_agent, tmp_path, tag):
    (tmp_path / "agent.yaml").write_text(json.dumps({"read_only": {"group": "root", "socket": str(tmp_path / "ro.sock")}}))
    (tmp_path / "ro.sock").write_text("not a socket")
    agent = make_agent(config_yaml([{"name": "web", "start": {"argv": ["/bin/sleep", tag]}}]),
                       extra_args=["--settings", str(tmp_path / "agent.yaml")]).start()
    line = agent.wait_event("PG7031")[0]
    assert "exists and is not a socket" in line and (tmp_path / "ro.sock").read_text() == "not a socket"
    assert agent.watch("web")["state"] in ("running", "starting"), "the root-only socket answers"


def test_the_settings_refuse_a_group_this_host_lacks(tmp_path):
    from procguard.settings import SettingsError, load_settings

    (tmp_path / "agent.yaml").write_text("read_only:\n  group: pgobs-no-such-group\n")
    with pytest.raises(SettingsError) as info:
        load_settings(str(tmp_path / "agent.yaml"))
    assert info.value.problems == [f"{tmp_path}/agent.yaml:2: read_only.group: no group 'pgobs-no-such-group' on "
                                   "this host; create it (groupadd pgobs-no-such-group) or fix the name"]
