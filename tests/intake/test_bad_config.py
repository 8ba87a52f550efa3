"""Bad input gets one line naming file, line, key and fix; a running agent keeps its config."""

from __future__ import annotations

import pytest

from helpers.agent import cli, config_yaml

GOOD = """version: 1
watches:
  - name: web
    start:
      argv: [/bin/sleep, "{tag}"]
      ready: {{alive_for: 0}}
"""

BROKEN = {
    "broken_yaml": ("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/sleep, 1]\n", 5, "", "broken YAML"),
    "wrong_type": ("version: 1\nwatches:\n  - name: web\n    instances: {min: two}\n    start: {argv: [/bin/sleep, '1']}\n",
                   4, "watches[0].instances.min", "must be a whole number, not 'two'"),
    "unknown_key": ("version: 1\nwatches:\n  - name: web\n    start: {argv: [/bin/sleep, '1']}\n"
                    "    restart:\n      max_restart: 3\n",
                    6, "watches[0].restart.max_restart", "unknown key; did you mean 'max_restarts'?"),
    "missing_executable": ("version: 1\nwatches:\n  - name: web\n    start:\n      argv: [/usr/bin/no-such-daemon]\n",
                           5, "watches[0].start.argv[0]", "/usr/bin/no-such-daemon does not exist; install it or fix the path"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_names_file_line_and_key(tmp_path, case):
    text, line, key, message = BROKEN[case]
    path = tmp_path / "watches.yaml"
    path.write_text(text)
    result = cli("check", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    expected_key = f" {key}:" if key else ""
    assert lines[0].startswith(f"{path}:{line}:{expected_key} "), lines[0]
    assert message in lines[0]


def test_check_reports_every_problem_and_accepts_good(tmp_path, tag):
    path = tmp_path / "w.yaml"
    path.write_text(GOOD.format(tag=tag))
    ok = cli("check", str(path))
    assert ok.returncode == 0 and "OK, 1 watches" in ok.stdout
    path.write_text("version: 1\nwatches:\n  - name: a\n    bogus: 1\n    stop: {signal: NOPE}\n")
    bad = cli("check", str(path))
    assert len(bad.stderr.strip().splitlines()) == 2


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_running_agent_refuses_bad_config_and_keeps_the_last_good(make_agent, rsyslog, tag, case):
    agent = make_agent(GOOD.format(tag=tag), syslog_socket=rsyslog.socket).start()
    pid = agent.wait_watch("web", lambda w: w["state"] == "running")["pids"][0]
    agent.write_config(BROKEN[case][0])

    result = agent.cli("reload")

    assert result.returncode == 1
    assert "reload refused, the last good config stays" in result.stderr
    w = agent.watch("web")
    assert w["pids"] == [pid] and w["state"] == "running"
    status = agent.status()
    assert status["agent"]["last_refusal"]["code"] == "invalid"
    rsyslog.wait_for(r"PG2002 configuration refused, last good one stays")
    rsyslog.wait_for(rf"PG2003 configuration problem .* line={BROKEN[case][1]} ")


def test_an_invalid_config_with_nothing_to_fall_back_on_leaves_the_agent_up_and_saying_so(make_agent):
    agent = make_agent(BROKEN["unknown_key"][0]).start()
    agent.wait_event("PG2005")
    assert agent.status()["watches"] == [] and agent.proc.poll() is None


def test_duplicate_key_and_duplicate_watch_names(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(config_yaml([{"name": "a", "match": {"comm": "x"}}, {"name": "a", "match": {"comm": "y"}}]))
    result = cli("check", str(path))
    assert "'a' is already the name of watches[0]; names must be unique" in result.stderr
    path.write_text("version: 1\nversion: 1\nwatches: []\n")
    assert "2: version: duplicate key" in cli("check", str(path)).stderr
