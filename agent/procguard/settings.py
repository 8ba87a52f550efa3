"""The agent's own settings: where things live on this host. Never part of the signed config,
because they say how to reach and trust the config, not what to run."""

from __future__ import annotations

import os
import socket as socketlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


DEFAULT_SETTINGS = "/etc/procguard/agent.yaml"


@dataclass
class Settings:
    config: str = "/etc/procguard/watches.yaml"
    state_dir: str = "/var/lib/procguard"
    socket: str = "/run/procguard/control.sock"
    trusted_keys: str = "/etc/procguard/trusted.d"
    revoked: str = "/etc/procguard/revoked.txt"
    host_name: str = field(default_factory=socketlib.gethostname)
    host_groups: List[str] = field(default_factory=list)
    syslog_facility: str = "daemon"
    syslog_socket: str = "/dev/log"
    sweep_interval: float = 300.0
    poll_interval: float = 0.5
    detector: str = "auto"  # auto (pidfd where the kernel has it), pidfd, or poll
    allow_unsigned: bool = False
    log_dir: Optional[str] = None  # default: STATE_DIR/logs
    pull: Dict[str, Any] = field(default_factory=dict)

    @property
    def service_log_dir(self) -> str:
        return self.log_dir or os.path.join(self.state_dir, "logs")


_KEYS = {
    "state_dir": str, "socket": str, "trusted_keys": str, "revoked": str, "host_name": str,
    "host_groups": list, "sweep_interval": (int, float), "poll_interval": (int, float),
    "log_dir": str, "pull": dict, "syslog": dict, "config": str, "detector": str,
}


class SettingsError(Exception):
    pass


def Problem(file: str, line: int, key: str, message: str) -> str:
    """One line, in the same form as config problems: FILE:LINE: KEY: what to do."""
    return f"{file}:{line}: {key + ': ' if key else ''}{message}"


def load_settings(path: Optional[str]) -> Settings:
    """Read the settings file; a missing default file means all defaults."""
    settings = Settings()
    file = path or DEFAULT_SETTINGS
    if not os.path.exists(file):
        if path:
            raise SettingsError(str(Problem(file, 1, "", "does not exist; create it or drop --settings")))
        return settings
    import yaml  # only when there is a settings file: the agent stays small without it

    try:
        with open(file) as handle:
            doc = yaml.safe_load(handle) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 1
        raise SettingsError(str(Problem(file, line, "", "broken YAML; fix the syntax"))) from None
    if not isinstance(doc, dict):
        raise SettingsError(str(Problem(file, 1, "", "must be a mapping of settings")))
    for key, value in doc.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise SettingsError(str(Problem(file, 1, key, f"unknown setting; write one of {', '.join(sorted(_KEYS))}")))
        if not isinstance(value, kind):  # type: ignore[arg-type]
            raise SettingsError(str(Problem(file, 1, key, "has the wrong type; see docs/config.md#agent-settings")))
        if key == "detector" and value not in ("auto", "pidfd", "poll"):
            raise SettingsError(str(Problem(file, 1, key, f"must be auto, pidfd or poll, not {value!r}")))
        if key == "syslog":
            settings.syslog_facility = str(value.get("facility", settings.syslog_facility))
            settings.syslog_socket = str(value.get("socket", settings.syslog_socket))
        else:
            setattr(settings, key, value)
    return settings
