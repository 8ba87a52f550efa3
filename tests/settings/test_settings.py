"""The agent's settings file: every key checked, one line per problem with its line, and
`procguard check --settings` says exactly what the agent would."""

from __future__ import annotations

import pytest

from helpers.agent import cli
from procguard.settings import Settings, SettingsError, load_settings


def write(tmp_path, text):
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    return str(path)


def test_a_missing_default_file_means_defaults_and_a_missing_named_one_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr("procguard.settings.DEFAULT_SETTINGS", str(tmp_path / "absent.yaml"))
    assert load_settings(None) == Settings()
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(str(tmp_path / "nope.yaml"))


def test_good_settings_are_read_with_durations(tmp_path):
    s = load_settings(write(tmp_path, "state_dir: /srv/pg\nhost_groups: [web, eu]\nsweep_interval: 2m\n"
                                      "syslog: {facility: local3, socket: ''}\n"
                                      "pull: {url: 'https://cfg.example.invalid/w.yaml', interval: 30s}\n"))
    assert (s.state_dir, s.host_groups, s.sweep_interval, s.syslog_facility, s.syslog_socket) == \
        ("/srv/pg", ["web", "eu"], 120.0, "local3", "")
    assert s.pull["interval"] == "30s"


@pytest.mark.parametrize("text,line,key,words", [
    ("state_dir: /srv\nstate_dri: /x\n", 2, "state_dri", "unknown setting"),
    ("state_dir: relative/dir\n", 1, "state_dir", "absolute path"),
    ("detector: fast\n", 1, "detector", "auto, pidfd or poll"),
    ("sweep_interval: -1\n", 1, "sweep_interval", "zero or more"),
    ("host_groups: web\n", 1, "host_groups", "list of group names"),
    ("syslog:\n  facility: local9\n", 2, "syslog.facility", "must be one of"),
    ("pull:\n  url: http://x/w.yaml\n", 2, "pull.url", "https://"),
    ("pull:\n  url: https://x/w.yaml\n  pinned_sha256: abc\n", 3, "pull.pinned_sha256", "64 hex digits"),
    ("pull:\n  url: https://x/w.yaml\n  intervall: 5s\n", 3, "pull.intervall", "unknown setting"),
    ("pull: {interval: 5s}\n", 1, "pull.url", "is required"),
    ("state_dir: [unclosed\n", 2, "", "broken YAML"),
])
def test_each_problem_is_one_line_with_file_line_and_key(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    first = info.value.problems[0]
    assert first.startswith(f"{path}:{line}: {key + ': ' if key else ''}"), first
    assert words in first and "\n" not in first


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, "detector: x\nsocket: rel\nbogus: 1\n"))
    assert len(info.value.problems) == 3


def test_check_settings_says_what_the_agent_would(tmp_path):
    good = write(tmp_path, "state_dir: /var/lib/procguard\n")
    assert cli("check", "--settings", good).stdout.strip() == f"{good}: OK"
    bad = write(tmp_path, "state_dir: /var/lib/procguard\npoll_intervl: 1\n")
    checked = cli("check", "--settings", bad)
    assert checked.returncode == 1
    assert checked.stderr.strip().startswith(f"{bad}:2: poll_intervl: unknown setting")
    agent = cli("agent", "--settings", bad, "--config", str(tmp_path / "w.yaml"))
    assert agent.returncode == 2 and checked.stderr.strip() in agent.stderr


def test_relative_paths_given_on_the_command_line_become_absolute():
    s = Settings(state_dir="a/b", socket="run/c.sock", config="w.yaml").absolute()
    assert all(p.startswith("/") for p in (s.state_dir, s.socket, s.config))
