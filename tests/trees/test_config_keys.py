"""limits, output, reload, after and systemd_unit: what `check` says, line by line, and the
typed specs the engine gets (nothing parses them again)."""

from __future__ import annotations

import os
import resource

import pytest

from helpers.agent import cli, config_yaml
from procguard.config.loader import ConfigError, parse
from procguard.unit_files import double_supervision, enabled_services


def check(tmp_path, watches, **top):
    path = tmp_path / "w.yaml"
    path.write_text(config_yaml(watches, **top))
    return cli("check", str(path))


SLEEP = {"argv": ["/bin/sleep", "1"]}


@pytest.mark.parametrize("watch, expected", [
    ({"limits": {"memory_high": "2G", "memory_max": "1G"}}, "limits.memory_high: is above memory_max"),
    ({"limits": {"nofile": "4096:1024"}}, "limits.nofile: soft limit 4096 is above the hard limit 1024"),
    ({"limits": {"memory_max": "lots"}}, "limits.memory_max:"),
    ({"limits": {"cpu_quota": "50"}}, "limits.cpu_quota:"),
    ({"reload": {"argv": ["nginx", "-s", "reload"]}}, "reload.argv[0]: 'nginx': a reload command must name"),
    ({"after": ["nobody"]}, "after[0]: names no watch 'nobody'"),
    ({"after": ["w"]}, "after[0]: names the watch itself"),
    ({"output": {"to": "syslog"}}, "output.to: must be one of auto, journal, file, none"),
], ids=["high-above-max", "soft-above-hard", "size", "quota-without-percent", "relative-reload", "unknown-after",
        "after-itself", "output-target"])
def test_bad_values_fail_check_with_their_line(tmp_path, watch, expected):
    done = check(tmp_path, [{"name": "w", "start": SLEEP, **watch}])
    assert done.returncode == 1 and expected in done.stderr, done.stderr
    assert done.stderr.startswith(str(tmp_path / "w.yaml") + ":")


def test_a_systemd_unit_watch_takes_neither_start_nor_match(tmp_path):
    done = check(tmp_path, [{"name": "web", "systemd_unit": "nginx.service", "start": SLEEP}])
    assert done.returncode == 1 and "watches[0].start: cannot be given with systemd_unit" in done.stderr


def test_specs_are_built_once_with_their_defaults():
    config, _ = parse(config_yaml([
        {"name": "a", "start": SLEEP, "limits": {"memory_max": "64M", "cpu_quota": "150%", "nofile": 4096,
                                                 "core": "unlimited"},
         "output": {"max_size": "1M"}, "reload": {"signal": "HUP"}, "after": ["b"]},
        {"name": "b", "systemd_unit": "nginx.service"},
    ]), "t.yaml")
    a, b = config.watches
    assert a.limits.memory_max == 64 << 20 and a.limits.cpu_quota == 150.0
    assert a.limits.nofile == (4096, 4096) and a.limits.core == (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    assert (a.output.to, a.output.max_size, a.output.keep) == ("auto", 1 << 20, 3)
    assert a.reload.signal == 1 and a.after == ("b",)
    assert a.start.umask == 0o022, "services get umask 022, not the agent's"
    assert b.start.argv == ("systemctl", "restart", "--no-block", "nginx.service") and b.match.argv is None
    assert b.reload.argv == ("systemctl", "reload", "nginx.service")


def test_a_cgroup_limit_this_host_cannot_enforce_is_a_check_warning_not_an_error(tmp_path):
    done = check(tmp_path, [{"name": "w", "start": SLEEP, "limits": {"memory_high": "1G"}}])
    assert done.returncode == 0
    assert "warning: watches[0].limits.memory_high: will not be enforced on this host" in done.stderr


def test_a_start_command_an_enabled_unit_also_runs_is_named(tmp_path):
    root = tmp_path / "root"
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    (root / "lib/systemd/system/sleepy.service").write_text("[Service]\nExecStart=-/bin/sleep infinity\n")
    os.symlink("/lib/systemd/system/sleepy.service", root / "etc/systemd/system/multi-user.target.wants/sleepy.service")
    config, _ = parse(config_yaml([{"name": "w", "start": SLEEP}]), "t.yaml")
    assert enabled_services(str(root)) == {"sleepy.service": str(root / "lib/systemd/system/sleepy.service")}
    assert double_supervision(config.watches, str(root)) == [("w", os.path.realpath("/bin/sleep"), "sleepy.service")]


def test_unknown_keys_still_fail():
    with pytest.raises(ConfigError, match=r"limits\.memory: unknown key; did you mean 'memory_max'"):
        parse(config_yaml([{"name": "w", "start": SLEEP, "limits": {"memory": "1G"}}]), "t.yaml")
