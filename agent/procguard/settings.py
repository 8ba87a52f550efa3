"""The agent's own settings: where things live on this host. Never part of the signed config,
because they say how to reach and trust the config, not what to run.

`load_settings` checks every key, its type and its value, and says what is wrong one line
per problem, in the form of config problems (FILE:LINE: KEY: what to do). `procguard check
--settings FILE` runs exactly this, so Ansible's `validate:` stops a typo before it can
reach a host.
"""

from __future__ import annotations

import os
import re
import socket as socketlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .durations import parse_duration
from .events.emitter import FACILITIES

DEFAULT_SETTINGS = "/etc/procguard/agent.yaml"


@dataclass
class Settings:
    config: str = "/etc/procguard/watches.yaml"
    state_dir: str = "/var/lib/procguard"
    socket: str = "/run/procguard/control.sock"
    trusted_keys: str = "/etc/procguard/trusted.d"
    revoked: str = "/etc/procguard/revoked.txt"
    revoked_required: bool = False  # named in the settings or on the command line: must exist
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
    cgroups: Dict[str, Any] = field(default_factory=dict)  # mode, fs, path: see cgroups/choose.py

    @property
    def service_log_dir(self) -> str:
        return self.log_dir or os.path.join(self.state_dir, "logs")

    def absolute(self) -> Settings:
        """Paths made absolute, so services never get a relative NOTIFY_SOCKET or log path."""
        for name in ("config", "state_dir", "socket", "trusted_keys", "revoked", "log_dir"):
            value = getattr(self, name)
            if value:
                setattr(self, name, os.path.abspath(value))
        return self


class SettingsError(Exception):
    """A settings file that cannot be used; `problems` holds one line each."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems


def problem_line(file: str, line: int, key: str, message: str) -> str:
    """One line, in the same form as config problems: FILE:LINE: KEY: what to do."""
    return f"{file}:{line}: {key + ': ' if key else ''}{message}"


Check = Callable[[Any], Optional[str]]


def _path(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.startswith("/"):
        return "must be an absolute path (starting with /)"
    return None


def _text(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value.strip() and "\0" not in value else "must be a non-empty string"


def _groups(value: Any) -> Optional[str]:
    if not isinstance(value, list) or not all(isinstance(g, str) and g for g in value):
        return "must be a list of group names"
    return None


def _positive_duration(value: Any) -> Optional[str]:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None if seconds > 0 else "must be more than 0"


def _detector(value: Any) -> Optional[str]:
    return None if value in ("auto", "pidfd", "poll") else f"must be auto, pidfd or poll, not {value!r}"


def _facility(value: Any) -> Optional[str]:
    return None if value in FACILITIES else f"must be one of {', '.join(FACILITIES)}, not {value!r}"


def _syslog_socket(value: Any) -> Optional[str]:
    return None if value == "" else _path(value)


def _bool(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else f"must be true or false, not {value!r}"


def _cgroup_mode(value: Any) -> Optional[str]:
    return None if value in ("auto", "off") else f"must be auto or off, not {value!r}"


def _cgroup_path(value: Any) -> Optional[str]:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@-]+)*", value) and ".." not in value
    return None if ok else "must be a relative cgroup path such as procguard or procguard/test-1"


def _url(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value.startswith("https://") else "must be an https:// URL"


def _pin(value: Any) -> Optional[str]:
    text = value.replace(":", "").strip().lower() if isinstance(value, str) else ""
    return None if re.fullmatch(r"[0-9a-f]{64}", text) else "must be 64 hex digits (sha256 of the certificate DER)"


TOP: Dict[str, Check] = {
    "config": _path, "state_dir": _path, "socket": _path, "trusted_keys": _path, "revoked": _path,
    "log_dir": _path, "host_name": _text, "host_groups": _groups, "sweep_interval": _positive_duration,
    "poll_interval": _positive_duration, "detector": _detector,
}
NESTED: Dict[str, Dict[str, Check]] = {
    "syslog": {"facility": _facility, "socket": _syslog_socket},
    "cgroups": {"mode": _cgroup_mode, "fs": _path, "path": _cgroup_path, "prepare": _bool},
    "pull": {"url": _url, "ca_bundle": _path, "pinned_sha256": _pin, "interval": _positive_duration,
             "timeout": _positive_duration},
}


def settings_problems(doc: Any, file: str, line_of: Callable[[Tuple[Any, ...]], int]) -> Iterator[str]:
    if not isinstance(doc, dict):
        yield problem_line(file, 1, "", "must be a mapping of settings; see docs/config.md#agent-settings")
        return
    known = sorted(list(TOP) + list(NESTED))
    for key, value in doc.items():
        where = line_of((key,))
        if key in TOP:
            why = TOP[key](value)
            if why:
                yield problem_line(file, where, key, why)
        elif key in NESTED:
            if not isinstance(value, dict):
                yield problem_line(file, where, key, f"must be a mapping with {', '.join(NESTED[key])}")
                continue
            for sub, item in value.items():
                check = NESTED[key].get(sub)
                line = line_of((key, sub))
                if check is None:
                    yield problem_line(file, line, f"{key}.{sub}", f"unknown setting; write one of {', '.join(NESTED[key])}")
                elif check(item):
                    yield problem_line(file, line, f"{key}.{sub}", str(check(item)))
            if key == "pull" and "url" not in value:
                yield problem_line(file, where, "pull.url", "is required when pull is set")
        else:
            yield problem_line(file, where, str(key), f"unknown setting; write one of {', '.join(known)}")


def load_settings(path: Optional[str]) -> Settings:
    """Read and check the settings file; a missing default file means all defaults."""
    settings = Settings()
    file = path or DEFAULT_SETTINGS
    if not os.path.exists(file):
        if path:
            raise SettingsError([problem_line(file, 1, "", "does not exist; create it or drop --settings")])
        return settings
    # Imported here, not above: an agent without a settings file never loads PyYAML (memory).
    from .config.yamlsource import LoadError, load

    try:
        with open(file, "rb") as handle:
            raw = handle.read(64 * 1024 + 1)
        source = load(raw.decode("utf-8"), file)
    except LoadError as exc:
        raise SettingsError([str(exc.problem)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([problem_line(file, 1, "", f"cannot be read ({exc}); fix it")]) from None
    doc = source.data if source.data is not None else {}
    problems = list(settings_problems(doc, file, source.line_of))
    if problems:
        raise SettingsError(problems)
    for key, value in doc.items():
        if key == "syslog":
            settings.syslog_facility = str(value.get("facility", settings.syslog_facility))
            settings.syslog_socket = str(value.get("socket", settings.syslog_socket))
        elif key in ("sweep_interval", "poll_interval"):
            setattr(settings, key, parse_duration(value))
        elif key == "revoked":
            settings.revoked, settings.revoked_required = value, True
        else:
            setattr(settings, key, value)
    return settings
