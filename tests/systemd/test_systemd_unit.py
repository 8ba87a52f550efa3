"""The shipped unit keeps the promises the README makes about running under systemd."""

from __future__ import annotations

import configparser
import os

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "agent", "procguard", "data", "procguard.service")


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser["Service"]


def test_notify_watchdog_and_always_restart():
    s = service()
    assert s["Type"] == "notify" and s["Restart"] == "always"
    assert s["WatchdogSec"].endswith("s")


def test_stopping_the_agent_leaves_services_running():
    assert service()["KillMode"] == "process"


def test_the_agent_may_divide_its_cgroup_per_watch():
    assert service()["Delegate"] == "yes"


def test_no_sandboxing_that_watched_services_would_inherit():
    s = service()
    for key in ("ProtectSystem", "PrivateTmp", "NoNewPrivileges", "MemoryDenyWriteExecute", "ProtectHome"):
        assert key not in s, f"{key} would be inherited by every watched service"
