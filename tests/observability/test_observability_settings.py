"""The agent settings of issue 12 (metrics, journald, read_only, canary): read key by key,
one line per problem, the textfile folder chosen as documented, and the same answer from
the forked reader the agent uses (which keeps PyYAML out of the agent) as from the plain one."""

from __future__ import annotations

import pytest

from procguard import settings as settings_mod
from procguard.settings import Settings, SettingsError, load_settings, load_settings_apart


def write(tmp_path, text):
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    return str(path)


def test_every_new_key_is_read(tmp_path):
    path = write(tmp_path, "metrics: {enabled: true, textfile_dir: /srv/tf, interval: 30s, listen: '[::1]:9464'}\n"
                           "journald: {socket: ''}\n"
                           "read_only: {group: root, socket: /run/pg-ro/s.sock}\n"
                           "canary: {interval: 10m, bound: 250ms}\n")
    s = load_settings(path)
    assert (s.metrics_enabled, s.metrics_textfile_dir, s.metrics_interval, s.metrics_listen) == \
        (True, "/srv/tf", 30.0, "[::1]:9464")
    assert (s.journald_socket, s.read_only_group, s.read_only_socket) == ("", "root", "/run/pg-ro/s.sock")
    assert (s.canary_interval, s.canary_bound) == (600.0, 0.25)
    assert load_settings_apart(path) == s


@pytest.mark.parametrize("text,line,key,words", [
    ("metrics:\n  listen: 0.0.0.0:9464\n", 2, "metrics.listen", "not a loopback address"),
    ("metrics:\n  listen: 9464\n", 2, "metrics.listen", "HOST:PORT"),
    ("metrics:\n  interval: 500ms\n", 2, "metrics.interval", "at least 1s"),
    ("metrics:\n  textfile_dir: tf\n", 2, "metrics.textfile_dir", "absolute path"),
    ("metrics:\n  enabled: yes please\n", 2, "metrics.enabled", "true or false"),
    ("metrics:\n  textfile: /x\n", 2, "metrics.textfile", "unknown setting; write one of enabled, textfile_dir"),
    ("journald:\n  socket: run/journal\n", 2, "journald.socket", "absolute path"),
    ("read_only:\n  socket: /run/x.sock\n", 1, "read_only.group", "is required"),
    ("canary:\n  bound: 1s\n", 1, "canary.interval", "is required"),
    ("canary:\n  interval: 10m\n  bound: 0\n", 3, "canary.bound", "more than 0"),
])
def test_each_problem_is_one_line_with_its_key_from_both_readers(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    for reader in (load_settings, load_settings_apart):
        with pytest.raises(SettingsError) as info:
            reader(path)
        first = info.value.problems[0]
        assert first.startswith(f"{path}:{line}: {key}: ") and words in first, first


def test_broken_yaml_is_one_line_from_the_forked_reader_too(tmp_path):
    with pytest.raises(SettingsError) as info:
        load_settings_apart(write(tmp_path, "metrics: [unclosed\n"))
    assert len(info.value.problems) == 1 and "broken YAML" in info.value.problems[0]


def test_the_textfile_goes_to_node_exporters_folder_only_when_it_exists(tmp_path, monkeypatch):
    folder = tmp_path / "node-exporter"
    monkeypatch.setattr(settings_mod, "DEFAULT_TEXTFILE_DIR", str(folder))
    assert Settings().textfile_dir is None, "no node_exporter folder: no stray files"
    folder.mkdir()
    assert Settings().textfile_dir == str(folder)
    assert Settings(metrics_textfile_dir="").textfile_dir is None
    assert Settings(metrics_textfile_dir="/srv/tf").textfile_dir == "/srv/tf", "a configured folder is used as given"
    assert Settings(metrics_enabled=False).textfile_dir is None


def test_without_a_settings_file_the_forked_reader_does_not_fork(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_mod, "DEFAULT_SETTINGS", str(tmp_path / "absent.yaml"))
    monkeypatch.setattr(settings_mod.os, "fork", lambda: pytest.fail("forked"))
    assert load_settings_apart(None) == Settings()
