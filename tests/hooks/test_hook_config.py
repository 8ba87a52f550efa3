"""`hooks:` in the watch config: the schema, the checks a schema cannot make (each with its
line), the typed spec built once, and file safety for a hook's program."""

from __future__ import annotations

import os

import pytest

from helpers.agent import cli
from procguard.config.hook_spec import build_hook
from procguard.config.loader import parse, problems_in
from procguard.config.programs import programs
from procguard.events import catalog

WATCH = "watches:\n  - name: web\n    start: {argv: [/bin/sleep, '1000']}\n"


def problems(hooks_yaml: str):
    return problems_in("version: 1\n" + WATCH + hooks_yaml, "w.yaml", on_this_host=False)[0]


def test_a_command_hook_and_a_url_hook_build_typed_specs():
    config, _ = parse("version: 1\n" + WATCH +
                      "hooks:\n"
                      "  - {name: page, events: [PG1009], severity: err, watches: [web], command: [/bin/true],"
                      " env: {TEAM: ops}, timeout: 2s}\n"
                      "  - {name: chat, events: [PG1005], url: 'http://127.0.0.1:9/hook', headers: {X-Token: t}}\n",
                      "w.yaml")
    page, chat = config.hooks
    assert (page.argv, page.env, page.timeout, page.severity, page.watches) == (("/bin/true",), (("TEAM", "ops"),), 2.0, 3,
                                                                              frozenset({"web"}))
    assert (chat.url, chat.headers, chat.timeout, chat.argv) == ("http://127.0.0.1:9/hook", (("X-Token", "t"),), 10.0, ())


def test_a_hook_fires_on_its_ids_or_at_its_severity_or_worse_and_only_for_its_watches():
    hook = build_hook({"name": "h", "events": ["PG1005"], "severity": "err", "watches": ["web"], "command": ["/bin/true"]})
    assert hook.matches("PG1005", "warning", {"watch": "web"})        # by ID
    assert hook.matches("PG1009", "crit", {"watch": "web"})           # crit is worse than err
    assert not hook.matches("PG1008", "warning", {"watch": "web"})    # neither
    assert not hook.matches("PG1005", "warning", {"watch": "db"})     # another watch
    assert not hook.matches("PG1023", "crit", {})                     # no watch at all
    everything = build_hook({"name": "e", "severity": "info", "url": "http://127.0.0.1:9/"})
    assert everything.matches("PG1004", "info", {}) and not everything.matches("PG1012", "debug", {})


@pytest.mark.parametrize("hooks,line,key,words", [
    ("hooks:\n  - {name: a, events: [PG1005]}\n", 6, "hooks[0]", "exactly one of `command:`"),
    ("hooks:\n  - {name: a, events: [PG1005], command: [/bin/true], url: 'http://127.0.0.1/'}\n", 6, "hooks[0]",
     "exactly one of"),
    ("hooks:\n  - {name: a, command: [/bin/true]}\n", 6, "hooks[0]", "fires on nothing"),
    ("hooks:\n  - name: a\n    events: [PG1005, PG9999]\n    command: [/bin/true]\n", 7, "hooks[0].events[1]",
     "no message ID"),
    ("hooks:\n  - name: a\n    events: [PG7010]\n    command: [/bin/true]\n", 7, "hooks[0].events[0]",
     "a hook's own message"),
    ("hooks:\n  - name: a\n    events: [PG1005]\n    watches: [wbe]\n    command: [/bin/true]\n", 8,
     "hooks[0].watches[0]", "names no watch 'wbe'"),
    ("hooks:\n  - name: a\n    events: [PG1005]\n    command: [notify-send]\n", 8, "hooks[0].command[0]",
     "absolute path"),
    ("hooks:\n  - name: a\n    events: [PG1005]\n    url: 'http://127.0.0.1/'\n    env: {A: b}\n", 9, "hooks[0].env",
     "only goes with `command:`"),
    ("hooks:\n  - name: a\n    events: [PG1005]\n    command: [/bin/true]\n    timeout: 1h\n", 9, "hooks[0].timeout",
     "at most 300s"),
    ("hooks:\n  - {name: a, events: [PG1005], command: [/bin/true]}\n  - {name: a, events: [PG1005], command: [/bin/true]}\n",
     7, "hooks[1].name", "already the name"),
    ("hooks:\n  - {name: a, events: [PG1005], url: 'ftp://x/'}\n", 6, "hooks[0].url", ""),
    ("hooks:\n  - {name: a, events: [PG1005], command: [/bin/true], when: x}\n", 6, "hooks[0].when", "unknown"),
])
def test_each_bad_hook_is_one_problem_with_its_line_and_key(hooks, line, key, words):
    found = problems(hooks)
    assert found, "the config is refused"
    first = found[0]
    assert (first.line, first.key) == (line, key), str(first)
    assert words in first.message


def test_check_on_the_host_names_a_missing_hook_program(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("version: 1\n" + WATCH + "hooks:\n  - {name: a, events: [PG1005], command: [/opt/none/notify]}\n")
    result = cli("check", str(path))
    assert result.returncode != 0
    assert "w.yaml:6: hooks[0].command[0]: /opt/none/notify does not exist" in result.stdout + result.stderr


def test_a_hook_program_goes_through_file_safety(tmp_path):
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o777)  # world-writable: anyone could make the agent run anything as root
    doc = {"version": 1, "watches": [{"name": "web", "start": {"argv": ["/bin/sleep", "1"]}}],
           "hooks": [{"name": "n", "events": ["PG1005"], "command": ["/bin/sh", str(script)]}]}
    listed = [(p.key, p.file, p.kind) for p in programs(doc)]
    assert (("hooks", 0, "command", 0), "/bin/sh", "command of hook n") in listed
    assert (("hooks", 0, "command", 1), str(script), "file given to the command of hook n") in listed
    path = tmp_path / "w.yaml"
    path.write_text(str(doc).replace("'", '"'))
    result = cli("check", str(path))
    assert result.returncode != 0
    assert "hooks[0].command[1]" in result.stderr and "writable by group and others" in result.stderr, result.stderr


def test_hook_messages_are_in_the_catalog():
    assert {catalog.get(n).id for n in ("hook_failed", "hook_dropped")} == {"PG7010", "PG7011"}
